// Pieces the admin pages share: the project picker, the secret shown once, the days of a range.
import { listProjects } from "./admin_api.js";
import { h, replace } from "./dom.js";
import { copyButton, errorNotice } from "./widgets.js";

/** A <select> of the projects, `selected` chosen; `onChange(projectId)` ("" for all, where
 *  `allLabel` offers all). */
export function projectPicker(projects, selected, onChange, { allLabel } = {}) {
  const select = h(
    "select",
    { id: "project-picker", name: "project" },
    allLabel ? h("option", { value: "" }, allLabel) : null,
    projects.map((project) =>
      h("option", { value: project.id, selected: project.id === selected }, project.name),
    ),
  );
  select.addEventListener("change", () => onChange(select.value));
  return h("div", { class: "field inline-field" }, h("label", { for: "project-picker" }, "Project"), select);
}

/** A secret the API shows in one answer only: shown with a copy button and that warning. */
export function secretOnce(title, secret) {
  return h(
    "div",
    { class: "secret-once notice", role: "status" },
    h("strong", {}, title),
    h("p", {}, "Copy it now: it is shown this once and never again."),
    h(
      "div",
      { class: "secret-value" },
      h("code", { class: "id" }, secret),
      copyButton(secret, "Copy secret"),
    ),
  );
}

/** Unix seconds of the start of a `yyyy-mm-dd` day (UTC), or undefined for "". */
export function dayStart(day) {
  return day ? Date.parse(`${day}T00:00:00Z`) / 1000 : undefined;
}

/** `yyyy-mm-dd` of the UTC day `days` before today. */
export function daysAgo(days) {
  return new Date(Date.now() - days * 86400_000).toISOString().slice(0, 10);
}

/** Opens an admin page on one project: `?project=`'s, else the first. Its picker goes in
 *  `pickerSlot` and moves the page at `path` to the project picked; `show(project)` fills it. */
export function openOnProject({ search, signal, navigate, path, body, pickerSlot, show }) {
  listProjects()
    .then(async (projects) => {
      if (signal.aborted) return;
      const wanted = search.get("project");
      const project = projects.find((each) => each.id === wanted) ?? projects[0];
      if (!project) {
        replace(body, h("p", { class: "empty" }, "No projects yet."));
        return;
      }
      replace(
        pickerSlot,
        projectPicker(projects, project.id, (id) => navigate(`${path}?project=${id}`)),
      );
      await show(project);
    })
    .catch((error) => signal.aborted || replace(body, errorNotice(error)));
}
