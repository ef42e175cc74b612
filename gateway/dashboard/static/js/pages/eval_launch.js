// A new run of an eval on a chosen model, sampling with a prompt template the items of one of its
// runs (then shown beside that run, item by item) or of a JSONL file, chosen or uploaded here.
import { query, request } from "../api.js";
import { listBaseModels, listModels, baseOf } from "../catalog.js";
import { h, replace } from "../dom.js";
import { evalPath, listRuns } from "../evals.js";
import { errorRouter, field } from "../field_errors.js";
import { uploadButton } from "../upload.js";
import { errorNotice, loading } from "../widgets.js";
import { reportHref } from "./eval_sections.js";

/** The template's text of a message with `role`, when the run sampled with a template. */
function templateText(run, role) {
  const inputs = run?.data_source?.input_messages;
  if (inputs?.type !== "template") return "";
  const message = inputs.template.find((each) => each.role === role);
  return message?.content?.text ?? (typeof message?.content === "string" ? message.content : "");
}

/**
 * The item field a prompt most likely asks about: a string field that no criterion grades
 * against, in the schema's `required` order (PostgreSQL keeps arrays in order, not object keys).
 */
function promptField(evaluation) {
  // The eval's schema wraps the item's: {properties: {item: {…}, sample: {…}}}.
  const config = evaluation.data_source_config ?? {};
  const schema = config.schema?.properties?.item ?? config.item_schema ?? {};
  const properties = schema.properties ?? {};
  const names = [...new Set([...(schema.required ?? []), ...Object.keys(properties)])].filter(
    (name) => properties[name]?.type === "string",
  );
  const criteria = JSON.stringify(evaluation.testing_criteria ?? []);
  const name = names.find((each) => !new RegExp(`item\\.${each}\\b`).test(criteria)) ?? names[0];
  return name ? `{{item.${name}}}` : "";
}

export async function render(view, { params, signal, navigate, setTitle }) {
  const { evalId } = params;
  setTitle("New eval run");
  const body = h("div", {}, loading("Loading the eval"));
  const crumbs = h("p", { class: "crumbs" }, h("a", { href: "evals" }, "Evals"), " / ");
  view.append(
    h("div", { class: "page-header" }, h("div", {}, crumbs, h("h1", { tabindex: "-1" }, "New run"))),
    body,
  );

  let evaluation, runs, baseModels, models, files;
  try {
    [evaluation, runs, baseModels, models, { data: files }] = await Promise.all([
      request(evalPath(evalId)),
      listRuns(evalId),
      listBaseModels(),
      listModels(),
      request(`/files${query({ purpose: "evals" })}`),
    ]);
  } catch (error) {
    if (!signal.aborted) replace(body, errorNotice(error));
    return;
  }
  if (signal.aborted) return;
  crumbs.append(h("a", { href: `evals/${evalId}` }, evaluation.name), " / ");
  const sources = runs.filter((run) => run.data_source?.source);

  const offered = new Set(baseModels.map((model) => model.id));
  const tuned = models.tuned.filter((model) => offered.has(baseOf(model.id)));
  const fields = new Map();
  const add = (names, made) => {
    for (const name of names) fields.set(name, made);
    return made;
  };
  const name = add(
    ["name"],
    field({
      id: "run-name",
      label: "Run name",
      control: h("input", { id: "run-name", name: "name", autocomplete: "off", maxlength: "512" }),
      hint: "Optional.",
    }),
  );
  const model = add(
    ["model"],
    field({
      id: "run-model",
      label: "Model",
      control: h(
        "select",
        { id: "run-model", name: "model" },
        h(
          "optgroup",
          { label: "Fine-tuned models" },
          tuned.map((each) => h("option", { value: each.id }, each.id)),
        ),
        h(
          "optgroup",
          { label: "Base models" },
          baseModels.map((each) => h("option", { value: each.id }, each.id)),
        ),
      ),
      hint: "Only the models that can run here are listed.",
    }),
  );
  const fileOption = (file) => h("option", { value: file.id }, `${file.filename} (${file.id})`);
  const fileGroup = h("optgroup", { label: "Files" }, files.map(fileOption));
  const source = add(
    ["source"],
    field({
      id: "run-source",
      label: "Items",
      control: h(
        "select",
        { id: "run-source", name: "source" },
        sources.length > 0 &&
          h(
            "optgroup",
            { label: "Items of a run" },
            sources.map((run) =>
              h("option", { value: run.id }, `${run.name} (${run.model || "answers given"}, ${run.id})`),
            ),
          ),
        fileGroup,
      ),
      hint:
        "A run's items: the new run is shown beside it. A file's: one {\"item\": {…}} per line, " +
        "uploaded for evals.",
      extra: uploadButton({
        id: "run-items-upload",
        label: "Upload a JSONL file…",
        purpose: "evals",
        onUploaded(file) {
          fileGroup.append(fileOption(file));
          source.control.value = file.id;
          source.clear();
          fillPrompt();
        },
      }),
    }),
  );
  const system = field({
    id: "run-system",
    label: "System message",
    control: h("textarea", { id: "run-system", name: "system", rows: "2" }),
    hint: "Optional.",
  });
  const user = add(
    ["input_messages", "template"],
    field({
      id: "run-user",
      label: "User message template",
      control: h("textarea", { id: "run-user", name: "user", rows: "3" }),
      hint: "Fields of each item as {{item.name}}.",
    }),
  );
  const temperature = add(
    ["temperature"],
    field({
      id: "run-temperature",
      label: "Temperature",
      control: h("input", { id: "run-temperature", type: "number", step: "any", value: "0" }),
    }),
  );
  const maxTokens = add(
    ["max_completion_tokens"],
    field({
      id: "run-max-tokens",
      label: "Max completion tokens",
      control: h("input", { id: "run-max-tokens", type: "number", step: "1", value: "64" }),
    }),
  );

  const chosenRun = () => sources.find((run) => run.id === source.control.value);
  function fillPrompt() {
    const run = chosenRun();
    system.control.value = templateText(run, "system") || templateText(run, "developer");
    user.control.value = templateText(run, "user") || promptField(evaluation);
  }
  source.control.addEventListener("change", fillPrompt);
  fillPrompt();

  const notice = h("div", { class: "form-notice" });
  const submit = h("button", { type: "submit", class: "button primary" }, "Start run");
  const form = h(
    "form",
    { class: "card launch-form", novalidate: true, "aria-label": "New run" },
    name.element,
    model.element,
    source.element,
    system.element,
    user.element,
    h("div", { class: "number-fields" }, temperature.element, maxTokens.element),
    notice,
    h("div", { class: "form-actions" }, submit, h("a", { class: "button quiet", href: `evals/${evalId}` }, "Cancel")),
  );
  replace(body, form);
  const errors = errorRouter(fields, notice);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.clear();
    if (!source.control.value) {
      source.showError("Choose the items to sample, or upload a file of them.").focus();
      return;
    }
    const from = chosenRun();
    const template = [
      ...(system.control.value.trim() ? [{ role: "system", content: system.control.value }] : []),
      { role: "user", content: user.control.value },
    ];
    const sampling = {};
    if (temperature.control.value !== "") sampling.temperature = Number(temperature.control.value);
    if (maxTokens.control.value !== "") sampling.max_completion_tokens = Number(maxTokens.control.value);
    submit.disabled = true;
    try {
      const run = await request(evalPath(evalId, "runs"), {
        method: "POST",
        json: {
          name: name.control.value.trim() || undefined,
          data_source: {
            type: "completions",
            model: model.control.value,
            source: from ? from.data_source.source : { type: "file_id", id: source.control.value },
            input_messages: { type: "template", template },
            sampling_params: sampling,
          },
        },
      });
      navigate(from ? reportHref(evalId, from.id, [run.id]) : reportHref(evalId, run.id));
    } catch (error) {
      if (signal.aborted) return;
      errors.show(error);
      submit.disabled = false;
    }
  });
}
