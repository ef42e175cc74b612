// The audit log, newest first, filtered by project, actor, action and days; paged with cursors.
import { adminRequest, listProjects } from "../admin_api.js";
import { dayStart, projectPicker } from "../admin_widgets.js";
import { h, replace, table } from "../dom.js";
import { dateTime } from "../format.js";
import { code, cursorPager, errorNotice, loading, pageHeader } from "../widgets.js";

const PAGE_SIZE = 50;
// The actions written today, offered as suggestions; any other text is taken as typed.
const ACTIONS = [
  "project.created",
  "project.limits_set",
  "key.created",
  "key.limits_set",
  "key.revoked",
  "job.created",
  "job.status_changed",
  "webhook.created",
  "webhook.disabled",
  "webhook.delivery_retried",
  "openai.imported",
  "openai.replacement_created",
  "capture.enabled",
  "capture.updated",
  "capture.disabled",
  "model_alias.created",
  "model_alias.changed",
  "model_alias.deleted",
  "model.brought_home",
];
const FILTERS = ["project", "actor", "action", "from", "to"];

function details(entry) {
  const pairs = Object.entries(entry.details);
  if (pairs.length === 0) return "—";
  return h(
    "span",
    { class: "audit-details" },
    pairs.map(([name, value]) =>
      h(
        "span",
        {},
        h("span", { class: "muted" }, `${name}: `),
        typeof value === "string" ? value : JSON.stringify(value),
      ),
    ),
  );
}

export function render(view, { query: search, signal, navigate, setTitle }) {
  setTitle("Audit log");
  const choice = Object.fromEntries(FILTERS.map((name) => [name, search.get(name) ?? ""]));
  const go = (changes) => {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries({ ...choice, ...changes })) if (value) params.set(name, value);
    const text = params.toString();
    navigate(text ? `admin/audit?${text}` : "admin/audit", { replace: true });
  };

  const textField = (name, label, props = {}) => {
    const input = h("input", { id: `audit-${name}`, name, value: choice[name], ...props });
    return h("div", { class: "field inline-field" }, h("label", { for: `audit-${name}` }, label), input);
  };
  const form = h(
    "form",
    { class: "filters", "aria-label": "Audit log filters" },
    h("div", { class: "picker-slot" }),
    textField("actor", "Actor", { placeholder: "admin, system or a key id", spellcheck: "false" }),
    textField("action", "Action", { list: "audit-actions", placeholder: "any", spellcheck: "false" }),
    h(
      "datalist",
      { id: "audit-actions" },
      ACTIONS.map((value) => h("option", { value })),
    ),
    textField("from", "From", { type: "date" }),
    textField("to", "To", { type: "date" }),
    h("button", { type: "submit", class: "button primary" }, "Filter"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go(
      Object.fromEntries(
        ["actor", "action", "from", "to"].map((name) => [name, form.elements[name].value.trim()]),
      ),
    );
  });

  const results = h("div", { "aria-busy": "true" }, loading("Loading the audit log"));
  const pager = cursorPager(() => load());
  view.append(pageHeader("Audit log"), form, h("div", { class: "toolbar" }, pager.element), results);

  let projectName = new Map();
  const columns = [
    { label: "Time", class: "nowrap", cell: (entry) => dateTime(entry.created_at) },
    {
      label: "Actor",
      cell: (entry) =>
        entry.actor.startsWith("key_")
          ? h("a", { href: `admin/keys/${entry.actor}` }, code(entry.actor))
          : entry.actor,
    },
    { label: "Action", cell: (entry) => code(entry.action) },
    {
      label: "Project",
      cell: (entry) =>
        entry.project_id
          ? h(
              "a",
              { href: `admin/projects/${entry.project_id}` },
              projectName.get(entry.project_id) ?? entry.project_id,
            )
          : "—",
    },
    { label: "Object", cell: (entry) => (entry.object_id ? code(entry.object_id) : "—") },
    { label: "Details", cell: details },
  ];

  async function load() {
    try {
      const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (choice.project) params.set("project_id", choice.project);
      if (choice.actor) params.set("actor", choice.actor);
      if (choice.action) params.set("action", choice.action);
      if (choice.from) params.set("start_time", String(dayStart(choice.from)));
      if (choice.to) params.set("end_time", String(dayStart(choice.to) + 86400));
      if (pager.after) params.set("after", pager.after);
      const page = await adminRequest(`/audit_log?${params}`);
      if (signal.aborted) return;
      replace(
        results,
        table({ caption: "Audit log", columns, rows: page.data, empty: "No entries match." }),
      );
      results.setAttribute("aria-busy", "false");
      pager.shown(page.has_more ? page.data[page.data.length - 1].id : null);
    } catch (error) {
      if (!signal.aborted) replace(results, errorNotice(error));
    }
  }

  listProjects()
    .then((projects) => {
      if (signal.aborted) return;
      projectName = new Map(projects.map((project) => [project.id, project.name]));
      replace(
        form.querySelector(".picker-slot"),
        projectPicker(projects, choice.project, (project) => go({ project }), { allLabel: "All projects" }),
      );
      return load();
    })
    .catch((error) => signal.aborted || replace(results, errorNotice(error)));
}
