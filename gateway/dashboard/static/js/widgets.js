// Small pieces shared by the pages.
import { h } from "./dom.js";
import { statusLabel } from "./format.js";

export function statusBadge(status) {
  return h("span", { class: `badge status-${status}` }, statusLabel(status));
}

export function errorNotice(error) {
  return h("p", { class: "notice error", role: "alert" }, error.message || String(error));
}

export function pageHeader(title, ...actions) {
  return h(
    "div",
    { class: "page-header" },
    h("h1", { tabindex: "-1" }, title),
    actions.length ? h("div", { class: "actions" }, actions) : null,
  );
}

/** A button that copies `text`; falls back to selecting it where the clipboard API is missing
 *  (pages served over plain HTTP to another host are not a secure context). */
export function copyButton(text, label = "Copy") {
  const button = h(
    "button",
    { type: "button", class: "button small quiet", "aria-label": `${label}: ${text}` },
    label,
  );
  const status = h("span", { class: "copy-status", role: "status" });
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = "Copied";
    } catch {
      const field = h("textarea", { class: "visually-hidden", readonly: true }, text);
      document.body.append(field);
      field.select();
      status.textContent = document.execCommand("copy") ? "Copied" : "Press Ctrl+C to copy";
      field.remove();
    }
    setTimeout(() => (status.textContent = ""), 2000);
  });
  return h("span", { class: "copy" }, button, status);
}

export function code(text) {
  return h("code", { class: "id" }, text);
}

/** A model name that wraps only after its colons: `ft:base:org:suffix:id[:ckpt-step-N]`. */
export function modelName(name, id) {
  const parts = name.split(":");
  const pieces = parts.flatMap((part, index) => (index < parts.length - 1 ? [`${part}:`, h("wbr")] : [part]));
  return h("code", { class: "model-name", id }, pieces);
}

export function loading(what = "Loading") {
  return h("p", { class: "loading", role: "status" }, `${what}…`);
}

/** A button that asks once more ("Confirm …") before it runs `action`. */
export function confirmingButton(label, confirmLabel, action, className = "button") {
  const button = h("button", { type: "button", class: className }, label);
  let armed = null;
  button.addEventListener("click", async () => {
    if (!armed) {
      button.textContent = confirmLabel;
      button.classList.add("danger");
      armed = setTimeout(() => {
        armed = null;
        button.textContent = label;
        button.classList.remove("danger");
      }, 4000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    button.textContent = label;
    button.classList.remove("danger");
    await action();
  });
  return button;
}

// "← Newer · Page N · Older →" over `after` cursors, newest page first. `move()` is called when
// the user changes page; the page's loader reads `pager.after` and then calls
// `pager.shown(nextCursor)` (null on the last page).
export function cursorPager(move) {
  const newer = h("button", { type: "button", class: "button", disabled: true }, "← Newer");
  const older = h("button", { type: "button", class: "button", disabled: true }, "Older →");
  const label = h("span", { class: "muted" });
  const cursors = [undefined];
  let index = 0;
  let next = null;
  newer.addEventListener("click", () => {
    index -= 1;
    move();
  });
  older.addEventListener("click", () => {
    cursors[index + 1] = next;
    index += 1;
    move();
  });
  return {
    element: h("nav", { class: "pager", "aria-label": "Pages" }, newer, label, older),
    get after() {
      return cursors[index];
    },
    shown(nextCursor) {
      next = nextCursor;
      newer.disabled = index === 0;
      older.disabled = next === null;
      label.textContent = `Page ${index + 1}`;
    },
  };
}
