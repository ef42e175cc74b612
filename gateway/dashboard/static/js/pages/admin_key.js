// One API key: what it holds against its own limits, those limits, and revoking it.
import { adminRequest } from "../admin_api.js";
import { limitsForm, standing } from "../admin_limits.js";
import { facts, h, replace } from "../dom.js";
import { dateTime } from "../format.js";
import { code, confirmingButton, errorNotice, loading } from "../widgets.js";

export function render(view, { params, signal, setTitle }) {
  const { keyId } = params;
  setTitle("API key");
  view.append(loading("Loading the key"));

  function show(key, project) {
    const title = key.name ?? key.redacted_value;
    setTitle(`Key ${title}`);
    const standingSlot = h("div", {}, standing(key.spent, key.limits));
    const statusSlot = h("div", {});

    function showStatus(current) {
      replace(
        statusSlot,
        facts([
          ["Key", code(current.redacted_value)],
          ["ID", code(current.id)],
          ["Created", dateTime(current.created_at)],
          ["Status", current.revoked_at ? `Revoked ${dateTime(current.revoked_at)}` : "Active"],
        ]),
        current.revoked_at
          ? null
          : confirmingButton("Revoke key", "Confirm: revoke this key", async () => {
              try {
                showStatus(await adminRequest(`/keys/${keyId}/revoke`, { method: "POST" }));
              } catch (error) {
                statusSlot.append(errorNotice(error));
              }
            }),
      );
    }

    showStatus(key);
    replace(
      view,
      h(
        "div",
        { class: "page-header" },
        h(
          "div",
          {},
          h(
            "p",
            { class: "crumbs" },
            h("a", { href: "admin/projects" }, "Projects"),
            " › ",
            h("a", { href: `admin/projects/${project.id}` }, project.name),
            " ›",
          ),
          h("h1", { tabindex: "-1" }, `API key ${title}`),
        ),
        h(
          "nav",
          { class: "actions", "aria-label": "This key" },
          h(
            "a",
            { class: "button", href: `admin/audit?project=${project.id}&actor=${key.id}` },
            "What it did",
          ),
        ),
      ),
      h(
        "div",
        { class: "admin-columns" },
        h(
          "div",
          { class: "stack-sections" },
          h(
            "section",
            { class: "card", "aria-labelledby": "key-title" },
            h("h2", { id: "key-title" }, "Key"),
            statusSlot,
          ),
          h(
            "section",
            { class: "card", "aria-labelledby": "standing-title" },
            h("h2", { id: "standing-title" }, "Held against its limits now"),
            standingSlot,
          ),
        ),
        h(
          "section",
          { class: "card", "aria-labelledby": "limits-title" },
          h("h2", { id: "limits-title" }, "Key limits"),
          h("p", { class: "hint" }, `The key is held to these and to ${project.name}'s limits.`),
          limitsForm("key", key.limits, async (limits) => {
            const updated = await adminRequest(`/keys/${keyId}/limits`, { method: "PUT", json: limits });
            replace(standingSlot, standing(updated.spent, updated.limits));
          }),
        ),
      ),
    );
    // Loaded after the router focused the page's heading: the heading takes focus now.
    if (document.activeElement === document.body) view.querySelector("h1").focus({ preventScroll: true });
  }

  adminRequest(`/keys/${keyId}`)
    .then(async (key) => {
      const project = await adminRequest(`/projects/${key.project_id}`);
      if (!signal.aborted) show(key, project);
    })
    .catch((error) => {
      if (signal.aborted) return;
      setTitle("Key not found");
      replace(
        view,
        h("h1", { tabindex: "-1" }, error.status === 404 ? "API key not found" : "Could not load the key"),
        errorNotice(error),
        h("p", {}, h("a", { href: "admin/projects" }, "Back to projects")),
      );
    });
}
