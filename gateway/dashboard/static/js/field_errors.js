// Form fields that show, next to themselves, the API's errors whose `param` names them.
import { h, replace } from "./dom.js";
import { errorNotice } from "./widgets.js";

/** A labelled control with an optional hint and a slot for its error. `control` may be a
 *  fieldset-like group: then `legend` labels it and `label` is not used. */
export function field({ id, label, control, hint, extra }) {
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  const hintNode = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  const focusable = control.matches("input, select, textarea") ? control : control.querySelector("input, select");
  const describedBy = [hintNode?.id, error.id].filter(Boolean).join(" ");
  control.setAttribute("aria-describedby", describedBy);
  const element = h(
    "div",
    { class: "field", dataset: { field: id } },
    label ? h("label", { for: id }, label) : null,
    control,
    error,
    extra,
    hintNode,
  );
  return {
    element,
    control,
    showError(message) {
      error.textContent = message;
      error.hidden = false;
      control.setAttribute("aria-invalid", "true");
      element.classList.add("invalid");
      return focusable;
    },
    clear() {
      error.textContent = "";
      error.hidden = true;
      control.removeAttribute("aria-invalid");
      element.classList.remove("invalid");
    },
  };
}

/** Routes an API error to the field its `param` names: `fields` maps a param's name (or any of
 *  its dotted parts, matched from the end: `method.dpo.hyperparameters.beta` → `beta`) to a field.
 *  Errors that name no field go to `notice`. */
export function errorRouter(fields, notice) {
  return {
    clear() {
      for (const each of new Set(fields.values())) each.clear();
      replace(notice);
    },
    show(error) {
      const parts = (error.param ?? "").split(/[.[\]]+/).filter(Boolean);
      const name = fields.has(parts[0]) && parts[0] === "metadata" ? parts[0] : parts.reverse().find((part) => fields.has(part));
      if (name === undefined) {
        replace(notice, errorNotice(error));
        return;
      }
      fields.get(name).showError(error.message)?.focus();
    },
  };
}
