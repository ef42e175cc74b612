// Sign in with a project's API key, checked against /v1/models before it is kept, or with the
// operator's admin key, checked against /admin/projects, which opens the admin pages.
import { adminRequest } from "../admin_api.js";
import { request } from "../api.js";
import { h } from "../dom.js";
import { signIn } from "../session.js";

function sameOrigin(path) {
  return path && new URL(path, document.baseURI).origin === location.origin ? path : null;
}

/** Whether the call succeeds; false when the key is refused, any other error thrown. */
async function accepted(call) {
  try {
    await call();
    return true;
  } catch (error) {
    if (error.status === 401) return false;
    throw error;
  }
}

export function render(view, { query, notice, navigate, setTitle }) {
  setTitle("Sign in");
  const input = h("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    required: true,
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "sk-ftg-…",
    "aria-describedby": "api-key-help",
  });
  const message = h("p", { class: "notice error", role: "alert", hidden: !notice }, notice ?? "");
  const submit = h("button", { type: "submit", class: "button primary" }, "Sign in");
  const form = h(
    "form",
    { class: "stack" },
    h("label", { for: "api-key" }, "API key"),
    input,
    h(
      "p",
      { id: "api-key-help", class: "hint" },
      "An operator creates keys with ",
      h("code", {}, "ftgate keys create --project NAME"),
      "; the operator's admin key opens the admin pages. ",
      "The key stays in this tab's session storage and is sent only to this gateway.",
    ),
    message,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    submit.disabled = true;
    message.hidden = true;
    try {
      const admin = !(await accepted(() => request("/models", { key })));
      if (admin) await adminRequest("/projects", { key });
      signIn(key, { admin });
      navigate(sameOrigin(query.get("next")) ?? (admin ? "admin/projects" : "jobs"), { replace: true });
    } catch (error) {
      message.textContent =
        error.status === 401 ? "That key was not accepted. Check it and try again." : error.message;
      message.hidden = false;
      submit.disabled = false;
      input.focus();
    }
  });
  view.append(
    h(
      "section",
      { class: "sign-in card", "aria-labelledby": "sign-in-title" },
      h("div", { class: "brand large", "aria-hidden": "true" }, "ftgate"),
      h("h1", { id: "sign-in-title", tabindex: "-1" }, "Sign in to the dashboard"),
      h("p", { class: "lede" }, "Fine-tuning jobs, files and models of the project your key belongs to."),
      form,
    ),
  );
}
