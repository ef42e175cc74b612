// A new fine-tuning job with every field the API takes, its cost quoted before it is created.
// `jobs/new?training_file=…&model=…` starts from a file and a model.
import { query, request } from "../api.js";
import { baseOf, listBaseModels, listModels, whereRuns } from "../catalog.js";
import { facts, h, replace } from "../dom.js";
import { errorRouter, field } from "../field_errors.js";
import { validationReport } from "../file_checks.js";
import { integer, usd } from "../format.js";
import { errorNotice, loading } from "../widgets.js";

const HYPERPARAMETERS = [
  { name: "n_epochs", label: "Epochs", integer: true, hint: "1 to 50" },
  { name: "batch_size", label: "Batch size", integer: true, hint: "1 to 256" },
  { name: "learning_rate_multiplier", label: "Learning rate multiplier", hint: "above 0" },
  { name: "beta", label: "Beta", hint: "DPO only: above 0, at most 2", dpo: true },
];
const MAX_METADATA = 16;

function modelSelect(baseModels, tuned, wanted) {
  return h(
    "select",
    { id: "job-model", name: "model" },
    h(
      "optgroup",
      { label: "Base models" },
      baseModels.map((model) =>
        h("option", { value: model.id, selected: model.id === wanted }, `${model.id} — ${whereRuns(model)}`),
      ),
    ),
    tuned.length
      ? h(
          "optgroup",
          { label: "Your fine-tuned models (train further)" },
          tuned.map((model) => h("option", { value: model.id, selected: model.id === wanted }, model.id)),
        )
      : null,
  );
}

function fileSelect(id, files, wanted, noneLabel) {
  return h(
    "select",
    { id, name: id },
    noneLabel ? h("option", { value: "" }, noneLabel) : null,
    files.map((file) =>
      h("option", { value: file.id, selected: file.id === wanted }, `${file.filename} (${file.id})`),
    ),
  );
}

/** One line on the chosen training file: ready, or why a job on it would fail. */
async function fileVerdict(slot, fileId) {
  if (!fileId) return replace(slot);
  replace(slot, h("span", { class: "muted" }, "Checking the file…"));
  try {
    const report = await validationReport(fileId);
    if (report.format === null) {
      replace(slot, h("span", { class: "verdict bad" }, "No training examples were found in this file."));
    } else if (report.n_invalid) {
      replace(
        slot,
        h(
          "span",
          { class: "verdict bad" },
          `${integer(report.n_invalid)} of ${integer(report.n_lines)} lines have problems: a job on this file would fail. `,
          h("a", { href: `files/${fileId}` }, "See the report"),
        ),
      );
    } else {
      replace(
        slot,
        h(
          "span",
          { class: "verdict good" },
          `${integer(report.n_examples)} examples in ${report.format.replace("_", "/")} format.`,
        ),
      );
    }
    return report;
  } catch (error) {
    replace(slot, errorNotice(error));
    return null;
  }
}

function metadataRow(list, onRemove) {
  const index = list.children.length;
  const key = h("input", { name: "metadata-key", maxlength: "64", autocomplete: "off", "aria-label": "Key" });
  const value = h("input", {
    name: "metadata-value",
    maxlength: "512",
    autocomplete: "off",
    "aria-label": "Value",
  });
  const remove = h("button", { type: "button", class: "button small quiet" }, "Remove");
  const row = h("li", { class: "metadata-row" }, key, value, remove);
  remove.setAttribute("aria-label", `Remove metadata pair ${index + 1}`);
  remove.addEventListener("click", () => {
    row.remove();
    onRemove();
  });
  return row;
}

function quoteFacts(answer, epochsGiven) {
  return facts(
    [
      ["Examples", integer(answer.n_examples)],
      ["Epochs", `${answer.n_epochs}${epochsGiven ? "" : " (auto)"}`],
      ["Tokens per epoch", integer(answer.billable_tokens_per_epoch)],
      ["Trained tokens", integer(answer.trained_tokens)],
      ["Price per 1M tokens", usd(answer.training_price_per_1m)],
      ["Estimated cost", h("strong", { class: "cost" }, usd(answer.estimated_cost))],
    ],
    "facts quote",
  );
}

export async function render(view, { query: search, signal, navigate, setTitle }) {
  setTitle("New job");
  const body = h("div", {}, loading("Loading models and files"));
  view.append(
    h(
      "div",
      { class: "page-header" },
      h(
        "div",
        {},
        h("p", { class: "crumbs" }, h("a", { href: "jobs" }, "Jobs"), " / "),
        h("h1", { tabindex: "-1" }, "New fine-tuning job"),
      ),
    ),
    body,
  );

  let baseModels, models, files;
  try {
    [baseModels, models, { data: files }] = await Promise.all([
      listBaseModels(),
      listModels(),
      request(`/files${query({ purpose: "fine-tune" })}`),
    ]);
  } catch (error) {
    if (!signal.aborted) replace(body, errorNotice(error));
    return;
  }
  if (signal.aborted) return;
  if (!files.length) {
    replace(
      body,
      h(
        "p",
        { class: "empty card" },
        "A job trains on a training file: ",
        h("a", { href: "files" }, "upload one"),
        " first.",
      ),
    );
    return;
  }
  const byId = new Map(baseModels.map((model) => [model.id, model]));
  const tuned = models.tuned.filter((model) => byId.has(baseOf(model.id)));
  const wantedFile = search.get("training_file") ?? files[0].id;

  const fields = new Map();
  const add = (names, made) => {
    for (const name of names) fields.set(name, made);
    return made;
  };
  const model = add(
    ["model"],
    field({
      id: "job-model",
      label: "Base model",
      control: modelSelect(baseModels, tuned, search.get("model")),
      hint: "Only the models that can run here are listed, with where each runs.",
    }),
  );
  const verdict = h("p", { class: "file-verdict", "aria-live": "polite" });
  const training = add(
    ["training_file"],
    field({
      id: "job-training-file",
      label: "Training file",
      control: fileSelect("job-training-file", files, wantedFile),
      extra: verdict,
    }),
  );
  const validation = add(
    ["validation_file"],
    field({
      id: "job-validation-file",
      label: "Validation file",
      control: fileSelect("job-validation-file", files, search.get("validation_file"), "None"),
      hint: "Optional: its loss is charted beside the training loss.",
    }),
  );

  const radio = (value, label) =>
    h(
      "label",
      { class: "inline choice" },
      h("input", { type: "radio", name: "method", value, id: `method-${value}`, checked: value === "supervised" }),
      label,
    );
  const methodGroup = h(
    "fieldset",
    { class: "choices", id: "job-method" },
    h("legend", {}, "Method"),
    radio("supervised", "Supervised"),
    radio("dpo", "DPO (preference pairs)"),
  );
  const method = add(["method", "type"], field({ id: "job-method", control: methodGroup }));
  const methodValue = () => methodGroup.querySelector("input:checked").value;

  const numbers = {};
  for (const spec of HYPERPARAMETERS) {
    const input = h("input", {
      id: `job-${spec.name.replaceAll("_", "-")}`,
      name: spec.name,
      type: "number",
      step: "any",
      inputmode: spec.integer ? "numeric" : "decimal",
      placeholder: "auto",
    });
    numbers[spec.name] = add(
      [spec.name],
      field({ id: input.id, label: spec.label, control: input, hint: `${spec.hint}; empty for auto` }),
    );
  }
  const beta = numbers.beta;

  const suffix = add(
    ["suffix"],
    field({
      id: "job-suffix",
      label: "Suffix",
      control: h("input", { id: "job-suffix", name: "suffix", maxlength: "64", autocomplete: "off" }),
      hint: "Up to 64 letters, digits, dots, dashes or underscores, in the model's name.",
    }),
  );
  const seed = add(
    ["seed"],
    field({
      id: "job-seed",
      label: "Seed",
      control: h("input", { id: "job-seed", name: "seed", type: "number", step: "1", placeholder: "random" }),
      hint: "The same seed and data train the same way.",
    }),
  );
  const metadataList = h("ul", { class: "plain metadata-list", id: "job-metadata" });
  const addPair = h("button", { type: "button", class: "button small" }, "Add a pair");
  const refreshAddPair = () => (addPair.disabled = metadataList.children.length >= MAX_METADATA);
  addPair.addEventListener("click", () => {
    metadataList.append(metadataRow(metadataList, refreshAddPair));
    refreshAddPair();
    metadataList.lastChild.querySelector("input").focus();
  });
  const metadataGroup = h(
    "fieldset",
    { class: "metadata", id: "job-metadata-group" },
    h("legend", {}, "Metadata"),
    metadataList,
    addPair,
  );
  const metadata = add(
    ["metadata"],
    field({ id: "job-metadata-group", control: metadataGroup, hint: "Up to 16 key and value pairs." }),
  );

  const notice = h("div", { class: "form-notice" });
  const submit = h("button", { type: "submit", class: "button primary", id: "create-job" }, "Create job");
  const form = h(
    "form",
    { class: "card job-create", novalidate: true, "aria-labelledby": "job-form-title" },
    h("h2", { id: "job-form-title", class: "visually-hidden" }, "Job settings"),
    h("section", { class: "form-section" }, h("h3", {}, "Model and data"), model.element, training.element, validation.element),
    h(
      "section",
      { class: "form-section" },
      h("h3", {}, "Method and hyperparameters"),
      method.element,
      h("div", { class: "number-fields" }, HYPERPARAMETERS.map((spec) => numbers[spec.name].element)),
    ),
    h("section", { class: "form-section" }, h("h3", {}, "Name and tracking"), h("div", { class: "number-fields" }, suffix.element, seed.element), metadata.element),
    notice,
    h("div", { class: "form-actions" }, submit, h("a", { class: "button quiet", href: "jobs" }, "Cancel")),
  );
  const quote = h("div", { id: "quote", "aria-live": "polite" }, loading("Quoting"));
  replace(
    body,
    h(
      "div",
      { class: "job-create-layout" },
      form,
      h(
        "aside",
        { class: "card quote-box job-quote", "aria-labelledby": "quote-title" },
        h("h2", { id: "quote-title" }, "Cost quote"),
        quote,
        h("p", { class: "hint" }, "What the job would cost at these settings, before it is created."),
      ),
    ),
  );
  const errors = errorRouter(fields, notice);

  /** DPO where the model takes it; beta only for DPO. */
  function methodsAllowed() {
    const spec = byId.get(baseOf(model.control.value));
    const dpo = methodGroup.querySelector("#method-dpo");
    dpo.disabled = !(spec?.methods ?? []).includes("dpo");
    if (dpo.disabled && dpo.checked) methodGroup.querySelector("#method-supervised").checked = true;
    beta.element.hidden = methodValue() !== "dpo";
  }

  function numberOf(each) {
    const input = each.control;
    if (input.validity.badInput) {
      each.showError("Enter a number, or leave it empty.");
      return { bad: true };
    }
    return { value: input.value === "" ? undefined : Number(input.value) };
  }

  let quoteRequest = 0;
  async function updateQuote() {
    const asked = ++quoteRequest;
    const epochs = numbers.n_epochs.control;
    const n_epochs = epochs.value && !epochs.validity.badInput ? epochs.value : undefined;
    try {
      const answer = await request(
        `/files/${training.control.value}/quote${query({ model: model.control.value, n_epochs })}`,
      );
      if (asked === quoteRequest && !signal.aborted) replace(quote, quoteFacts(answer, n_epochs));
    } catch (error) {
      if (asked === quoteRequest && !signal.aborted) replace(quote, errorNotice(error));
    }
  }

  async function fileChanged() {
    const report = await fileVerdict(verdict, training.control.value);
    // A file of preference pairs trains with DPO.
    if (report?.format === "preference" && !methodGroup.querySelector("#method-dpo").disabled) {
      methodGroup.querySelector("#method-dpo").checked = true;
      methodsAllowed();
    }
  }

  model.control.addEventListener("change", () => {
    methodsAllowed();
    updateQuote();
  });
  training.control.addEventListener("change", () => {
    fileChanged();
    updateQuote();
  });
  numbers.n_epochs.control.addEventListener("input", updateQuote);
  methodGroup.addEventListener("change", methodsAllowed);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.clear();
    const type = methodValue();
    const hyperparameters = {};
    let bad = false;
    for (const spec of HYPERPARAMETERS) {
      if (spec.dpo && type !== "dpo") continue;
      const read = numberOf(numbers[spec.name]);
      bad ||= Boolean(read.bad);
      if (read.value !== undefined) hyperparameters[spec.name] = read.value;
    }
    const seedValue = numberOf(seed);
    bad ||= Boolean(seedValue.bad);
    if (bad) {
      form.querySelector("[aria-invalid='true']")?.focus();
      return;
    }
    const pairs = [...metadataList.children]
      .map((row) => [...row.querySelectorAll("input")].map((input) => input.value))
      .filter(([key, value]) => key.trim() || value);
    submit.disabled = true;
    try {
      const job = await request("/fine_tuning/jobs", {
        method: "POST",
        json: {
          model: model.control.value,
          training_file: training.control.value,
          validation_file: validation.control.value || undefined,
          suffix: suffix.control.value.trim() || undefined,
          seed: seedValue.value,
          method: { type, [type]: { hyperparameters } },
          metadata: pairs.length ? Object.fromEntries(pairs) : undefined,
        },
      });
      navigate(`jobs/${job.id}`);
    } catch (error) {
      if (signal.aborted) return;
      errors.show(error);
      submit.disabled = false;
    }
  });

  methodsAllowed();
  fileChanged();
  updateQuote();
}
