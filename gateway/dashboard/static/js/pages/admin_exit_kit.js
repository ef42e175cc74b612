// The OpenAI exit kit of a project: the imports of its OpenAI history, the chats captured per
// model, the replacements trained, and the aliases that move a model's traffic at their cutover.
import { adminRequest } from "../admin_api.js";
import { openOnProject } from "../admin_widgets.js";
import { h, replace, table } from "../dom.js";
import { bytes, dateTime, integer, percent } from "../format.js";
import { code, loading, pageHeader } from "../widgets.js";

function section(id, title, hint, content) {
  return h(
    "section",
    { class: "card", "aria-labelledby": id },
    h("h2", { id }, title),
    hint ? h("p", { class: "hint" }, hint) : null,
    content,
  );
}

function importsTable(entries) {
  return table({
    caption: "Imports",
    empty: "Nothing imported yet: ftgate openai import, or POST /admin/projects/{id}/openai_import.",
    rows: entries,
    columns: [
      { label: "Imported", class: "nowrap", cell: (entry) => dateTime(entry.created_at) },
      { label: "From", cell: (entry) => entry.details.source ?? "—" },
      { label: "Jobs added", class: "number", cell: (entry) => integer(entry.details.jobs_added) },
      { label: "Jobs updated", class: "number", cell: (entry) => integer(entry.details.jobs_updated) },
      { label: "Files added", class: "number", cell: (entry) => integer(entry.details.files_added) },
      {
        label: "Files still missing",
        class: "number",
        cell: (entry) => integer(entry.details.missing_files),
      },
    ],
  });
}

function capturesTable(captures) {
  return table({
    caption: "Captures",
    empty: "No model's chats are captured.",
    rows: captures,
    columns: [
      { label: "Model", cell: (capture) => code(capture.model) },
      {
        label: "State",
        cell: (capture) =>
          capture.capped_at
            ? h("span", { class: "badge status-paused" }, "Capped")
            : capture.enabled
              ? h("span", { class: "badge status-running" }, "Capturing")
              : h("span", { class: "badge status-cancelled" }, "Off"),
      },
      { label: "Sampled", class: "number", cell: (capture) => percent(capture.sample_rate) },
      { label: "Training examples", class: "number", cell: (capture) => integer(capture.training_examples) },
      { label: "Held out", class: "number", cell: (capture) => integer(capture.held_out_examples) },
      {
        label: "Size",
        class: "number",
        cell: (capture) => `${bytes(capture.bytes)} of ${bytes(capture.max_bytes)}`,
      },
      {
        label: "Training file",
        cell: (capture) => (capture.training_file_id ? code(capture.training_file_id) : "—"),
      },
    ],
  });
}

function replacementsTable(entries) {
  return table({
    caption: "Replacements",
    empty: "No replacement trained yet.",
    rows: entries,
    columns: [
      { label: "Started", class: "nowrap", cell: (entry) => dateTime(entry.created_at) },
      { label: "Original", cell: (entry) => code(entry.details.original ?? "—") },
      { label: "Replacement job", cell: (entry) => (entry.object_id ? code(entry.object_id) : "—") },
    ],
  });
}

function aliasesTable(aliases) {
  return table({
    caption: "Aliases",
    empty: "No aliases: clients' model names go where they name.",
    rows: aliases,
    columns: [
      { label: "Clients ask for", cell: (alias) => code(alias.id) },
      { label: "Answered by", cell: (alias) => code(alias.replacement) },
      {
        label: "Cutover",
        class: "nowrap",
        cell: (alias) => (alias.active_from ? dateTime(alias.active_from) : "At once"),
      },
      {
        label: "Now",
        cell: (alias) =>
          alias.active
            ? h("span", { class: "badge status-succeeded" }, "In force")
            : h("span", { class: "badge status-queued" }, "Waiting for cutover"),
      },
    ],
  });
}

export function render(view, { query: search, signal, navigate, setTitle }) {
  setTitle("Exit kit");
  const pickerSlot = h("div", { class: "filters" });
  const body = h("div", { class: "stack-sections", "aria-busy": "true" }, loading("Loading the exit kit"));
  view.append(
    pageHeader("OpenAI exit kit"),
    h(
      "p",
      { class: "lede" },
      "Moving a project off OpenAI: its history imported, its chats captured as training data, " +
        "replacements trained on open models, and aliases that send its model names to them from their cutover.",
    ),
    pickerSlot,
    body,
  );

  async function show(project) {
    const audit = (action) =>
      adminRequest(`/audit_log?project_id=${project.id}&action=${action}&limit=100`).then(
        (page) => page.data,
      );
    const [imports, captures, replacements, aliases] = await Promise.all([
      audit("openai.imported"),
      adminRequest(`/projects/${project.id}/captures`).then((page) => page.data),
      audit("openai.replacement_created"),
      adminRequest(`/projects/${project.id}/aliases`).then((page) => page.data),
    ]);
    if (signal.aborted) return;
    replace(
      body,
      section(
        "imports-title",
        "Imports",
        "Each import of the project's OpenAI fine-tuning history.",
        importsTable(imports),
      ),
      section(
        "captures-title",
        "Captures",
        "Chats recorded per model, kept as training and held-out files.",
        capturesTable(captures),
      ),
      section(
        "replacements-title",
        "Replacements",
        "Jobs that train an open model to stand in for an original.",
        replacementsTable(replacements),
      ),
      section(
        "aliases-title",
        "Aliases",
        "A model name answered by another model from its cutover time.",
        aliasesTable(aliases),
      ),
    );
    body.setAttribute("aria-busy", "false");
  }

  openOnProject({ search, signal, navigate, path: "admin/exit-kit", body, pickerSlot, show });
}
