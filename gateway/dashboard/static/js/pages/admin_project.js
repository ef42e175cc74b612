// One project: what it holds against its limits, the limits, and its API keys (a new key's
// secret shown once, revoke, each key's own limits on its page).
import { adminRequest } from "../admin_api.js";
import { limitsForm, limitsSummary, spendCell, standing } from "../admin_limits.js";
import { secretOnce } from "../admin_widgets.js";
import { h, replace, table } from "../dom.js";
import { dateTime } from "../format.js";
import { code, confirmingButton, errorNotice, loading } from "../widgets.js";

function keyStatus(key) {
  return key.revoked_at
    ? h("span", { class: "badge status-cancelled" }, "Revoked")
    : h("span", { class: "badge status-succeeded" }, "Active");
}

function keysTable(keys, onRevoke) {
  return table({
    caption: "API keys",
    empty: "No keys yet.",
    rows: keys,
    columns: [
      { label: "Name", cell: (key) => h("a", { href: `admin/keys/${key.id}` }, key.name ?? key.id) },
      { label: "Key", cell: (key) => code(key.redacted_value) },
      { label: "Created", cell: (key) => dateTime(key.created_at) },
      { label: "Status", cell: keyStatus },
      { label: "Spend this period", cell: (key) => spendCell(key.spent, key.limits) },
      { label: "Own limits", cell: (key) => limitsSummary(key.limits) },
      {
        label: "Actions",
        class: "actions-cell",
        cell: (key) =>
          key.revoked_at
            ? "—"
            : confirmingButton("Revoke", "Confirm revoke", () => onRevoke(key), "button small quiet"),
      },
    ],
  });
}

function newKeyForm(projectId, onCreated) {
  const input = h("input", { id: "key-name", name: "name", maxlength: "200", placeholder: "e.g. ci" });
  const message = h("p", { class: "field-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "button primary" }, "Create key");
  const form = h(
    "form",
    { class: "inline-form-row", "aria-label": "New API key" },
    h(
      "div",
      { class: "field" },
      h("label", { for: "key-name" }, "New key's name (optional)"),
      input,
      message,
    ),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    message.hidden = true;
    try {
      const name = input.value.trim() || null;
      const key = await adminRequest(`/projects/${projectId}/keys`, { method: "POST", json: { name } });
      input.value = "";
      onCreated(key);
    } catch (error) {
      message.textContent = error.message;
      message.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export function render(view, { params, signal, setTitle }) {
  const { projectId } = params;
  setTitle("Project");
  view.append(loading("Loading the project"));

  async function loadKeys() {
    return (await adminRequest(`/projects/${projectId}/keys`)).data;
  }

  function show(project, keys) {
    setTitle(project.name);
    const standingSlot = h("div", {}, standing(project.spent, project.limits));
    const secretSlot = h("div", {});
    const keysSlot = h("div", {});
    const actionError = h("div", {});

    async function refreshKeys() {
      replace(keysSlot, keysTable(await loadKeys(), revoke));
    }

    async function revoke(key) {
      replace(actionError);
      try {
        await adminRequest(`/keys/${key.id}/revoke`, { method: "POST" });
        await refreshKeys();
      } catch (error) {
        replace(actionError, errorNotice(error));
      }
    }

    replace(keysSlot, keysTable(keys, revoke));
    replace(
      view,
      h(
        "div",
        { class: "page-header" },
        h(
          "div",
          {},
          h("p", { class: "crumbs" }, h("a", { href: "admin/projects" }, "Projects"), " ›"),
          h("h1", { tabindex: "-1" }, project.name),
          h("p", { class: "muted" }, code(project.id), ` · created ${dateTime(project.created_at)}`),
        ),
        h(
          "nav",
          { class: "actions", "aria-label": "This project" },
          h("a", { class: "button", href: `admin/usage?project=${project.id}` }, "Usage"),
          h("a", { class: "button", href: `admin/audit?project=${project.id}` }, "Audit log"),
          h("a", { class: "button", href: `admin/webhooks?project=${project.id}` }, "Webhooks"),
          h("a", { class: "button", href: `admin/exit-kit?project=${project.id}` }, "Exit kit"),
        ),
      ),
      h(
        "div",
        { class: "admin-columns" },
        h(
          "section",
          { class: "card", "aria-labelledby": "standing-title" },
          h("h2", { id: "standing-title" }, "Held against the limits now"),
          standingSlot,
        ),
        h(
          "section",
          { class: "card", "aria-labelledby": "limits-title" },
          h("h2", { id: "limits-title" }, "Project limits"),
          h("p", { class: "hint" }, "Every key of the project is held to these and to its own."),
          limitsForm("project", project.limits, async (limits) => {
            const updated = await adminRequest(`/projects/${project.id}/limits`, {
              method: "PUT",
              json: limits,
            });
            replace(standingSlot, standing(updated.spent, updated.limits));
          }),
        ),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "keys-title" },
        h("h2", { id: "keys-title" }, "API keys"),
        secretSlot,
        newKeyForm(project.id, async (key) => {
          replace(secretSlot, secretOnce(`New key ${key.name ?? key.id}`, key.value));
          await refreshKeys();
          secretSlot.querySelector("button")?.focus();
        }),
        actionError,
        keysSlot,
      ),
    );
    // Loaded after the router focused the page's heading: the heading takes focus now.
    if (document.activeElement === document.body) view.querySelector("h1").focus({ preventScroll: true });
  }

  Promise.all([adminRequest(`/projects/${projectId}`), loadKeys()])
    .then(([project, keys]) => signal.aborted || show(project, keys))
    .catch((error) => {
      if (signal.aborted) return;
      setTitle("Project not found");
      replace(
        view,
        h(
          "h1",
          { tabindex: "-1" },
          error.status === 404 ? "Project not found" : "Could not load the project",
        ),
        errorNotice(error),
        h("p", {}, h("a", { href: "admin/projects" }, "Back to projects")),
      );
    });
}
