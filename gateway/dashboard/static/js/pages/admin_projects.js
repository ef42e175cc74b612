// Every project with its limits and what it holds against them now; a new project.
import { adminRequest, listProjects } from "../admin_api.js";
import { limitsSummary, spendCell } from "../admin_limits.js";
import { h, replace, table } from "../dom.js";
import { dateTime, integer } from "../format.js";
import { code, errorNotice, loading, pageHeader } from "../widgets.js";

const COLUMNS = [
  { label: "Project", cell: (project) => h("a", { href: `admin/projects/${project.id}` }, project.name) },
  { label: "ID", cell: (project) => code(project.id) },
  { label: "Created", cell: (project) => dateTime(project.created_at) },
  { label: "Spend this period", cell: (project) => spendCell(project.spent, project.limits) },
  { label: "Unfinished jobs", class: "number", cell: (project) => integer(project.spent.concurrent_jobs) },
  { label: "Limits", cell: (project) => limitsSummary(project.limits) },
];

function createForm(navigate) {
  const input = h("input", { id: "project-name", name: "name", required: true, maxlength: "200" });
  const message = h("p", { class: "field-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "button primary" }, "Create project");
  const form = h(
    "form",
    { class: "inline-form card", "aria-labelledby": "new-project-title" },
    h("h2", { id: "new-project-title" }, "New project"),
    h(
      "div",
      { class: "inline-form-row" },
      h("div", { class: "field" }, h("label", { for: "project-name" }, "Project name"), input, message),
      submit,
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    message.hidden = true;
    try {
      const project = await adminRequest("/projects", { method: "POST", json: { name: input.value.trim() } });
      navigate(`admin/projects/${project.id}`);
    } catch (error) {
      message.textContent = error.message;
      message.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.focus();
      submit.disabled = false;
    }
  });
  return form;
}

export function render(view, { signal, navigate, setTitle }) {
  setTitle("Projects");
  const results = h("div", { "aria-busy": "true" }, loading("Loading projects"));
  view.append(
    pageHeader("Projects"),
    h(
      "p",
      { class: "lede" },
      "Each project's limits and what it holds against them now: spend and trained tokens this period " +
        "(running jobs count what they reserved), unfinished jobs and files kept.",
    ),
    results,
    createForm(navigate),
  );
  listProjects()
    .then((projects) => {
      if (signal.aborted) return;
      replace(
        results,
        table({ caption: "Projects", columns: COLUMNS, rows: projects, empty: "No projects yet." }),
      );
      results.setAttribute("aria-busy", "false");
    })
    .catch((error) => signal.aborted || replace(results, errorNotice(error)));
}
