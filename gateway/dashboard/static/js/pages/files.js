// Training files: upload, list, delete; a file's validation report, cost quote and a new job.
import { query, request } from "../api.js";
import { listModels } from "../catalog.js";
import { facts, h, replace, table } from "../dom.js";
import { bytes, dateTime, integer, usd } from "../format.js";
import { validationBadge } from "../file_checks.js";
import { dropZone } from "../upload.js";
import { code, confirmingButton, errorNotice, loading, pageHeader } from "../widgets.js";

const PURPOSE = "fine-tune";

function filesTable(files, selectedId, onDelete) {
  return table({
    caption: "Training files",
    empty: "No training files yet.",
    rows: files,
    columns: [
      {
        label: "File",
        cell: (file) =>
          h(
            "a",
            { href: `files/${file.id}`, "aria-current": file.id === selectedId ? "true" : false },
            file.filename,
          ),
      },
      { label: "ID", cell: (file) => code(file.id) },
      { label: "Size", class: "number", cell: (file) => bytes(file.bytes) },
      { label: "Uploaded", cell: (file) => dateTime(file.created_at) },
      { label: "Validation", cell: validationBadge },
      {
        label: "Actions",
        class: "actions-cell",
        cell: (file) =>
          confirmingButton("Delete", "Confirm delete", () => onDelete(file), "button small quiet"),
      },
    ],
  });
}

/** One line that says whether a job could train on the file. */
function verdict(report) {
  if (report.format === null) {
    return h("p", { class: "verdict bad" }, "No training examples were found in this file.");
  }
  if (report.n_invalid === 0) {
    const format = report.format.replace("_", "/");
    return h(
      "p",
      { class: "verdict good" },
      `Ready to train: ${integer(report.n_examples)} examples in ${format} format.`,
    );
  }
  const problems = `${integer(report.n_invalid)} of ${integer(report.n_lines)} lines have problems`;
  return h("p", { class: "verdict bad" }, `${problems}; a job on this file would fail.`);
}

function reportSection(report) {
  const problems = report.n_invalid;
  const shown =
    report.issues.length < problems ? ` (the first ${report.issues.length} of ${integer(problems)})` : "";
  return h(
    "section",
    { class: "card", id: "validation-report", "aria-labelledby": "report-title" },
    h("h2", { id: "report-title" }, "Validation report"),
    verdict(report),
    facts(
      [
        ["Examples", integer(report.n_examples)],
        ["Invalid lines", integer(report.n_invalid)],
        ["Total tokens", integer(report.total_tokens)],
        ["Billable tokens per epoch", integer(report.billable_tokens)],
        ["Assistant tokens", integer(report.assistant_tokens)],
        ["Longest example", `${integer(report.max_example_tokens)} tokens`],
        ["Over the token limit", integer(report.n_over_limit)],
        ["Token limit", integer(report.token_limit)],
        ["Encoding", report.encoding],
      ],
      "facts stats",
    ),
    report.warnings.length
      ? h(
          "ul",
          { class: "warnings" },
          report.warnings.map((warning) => h("li", {}, warning)),
        )
      : null,
    report.issues.length
      ? [
          h("h3", {}, `Problems${shown}`),
          table({
            caption: "Problems by line",
            rows: report.issues,
            columns: [
              { label: "Line", class: "number", cell: (issue) => String(issue.line) },
              { label: "Code", class: "nowrap", cell: (issue) => h("code", {}, issue.code) },
              { label: "Message", cell: (issue) => issue.message },
            ],
          }),
        ]
      : null,
  );
}

function jobSection(file, report, models, otherFiles, navigate) {
  const base = models.base.concat(models.tuned);
  const model = h(
    "select",
    { id: "job-model", name: "model", required: true },
    base.map((m) => h("option", { value: m.id }, m.id)),
  );
  const epochs = h("input", {
    id: "job-epochs",
    name: "n_epochs",
    type: "number",
    min: "1",
    max: "50",
    placeholder: "auto",
    inputmode: "numeric",
  });
  const suffix = h("input", {
    id: "job-suffix",
    name: "suffix",
    maxlength: "64",
    placeholder: "optional",
    autocomplete: "off",
  });
  const validation = h(
    "select",
    { id: "job-validation", name: "validation_file" },
    h("option", { value: "" }, "None"),
    otherFiles.map((other) => h("option", { value: other.id }, `${other.filename} (${other.id})`)),
  );
  const quote = h("div", { id: "quote", "aria-live": "polite" }, loading("Quoting"));
  const message = h("div");
  const submit = h("button", { type: "submit", class: "button primary" }, "Create job");

  let quoteRequest = 0;
  async function updateQuote() {
    const asked = ++quoteRequest;
    const n_epochs = epochs.value && epochs.validity.valid ? epochs.value : undefined;
    try {
      const answer = await request(`/files/${file.id}/quote${query({ model: model.value, n_epochs })}`);
      if (asked !== quoteRequest) return;
      replace(
        quote,
        facts(
          [
            ["Examples", integer(answer.n_examples)],
            ["Epochs", `${answer.n_epochs}${n_epochs ? "" : " (auto)"}`],
            ["Tokens per epoch", integer(answer.billable_tokens_per_epoch)],
            ["Trained tokens", integer(answer.trained_tokens)],
            ["Price per 1M tokens", usd(answer.training_price_per_1m)],
            ["Estimated cost", h("strong", { class: "cost" }, usd(answer.estimated_cost))],
          ],
          "facts quote",
        ),
      );
    } catch (error) {
      if (asked === quoteRequest) replace(quote, errorNotice(error));
    }
  }
  model.addEventListener("change", updateQuote);
  epochs.addEventListener("input", updateQuote);

  const form = h(
    "form",
    { class: "job-form" },
    h("div", { class: "field" }, h("label", { for: "job-model" }, "Base model"), model),
    h("div", { class: "field" }, h("label", { for: "job-epochs" }, "Epochs"), epochs),
    h("div", { class: "field" }, h("label", { for: "job-suffix" }, "Suffix"), suffix),
    h("div", { class: "field" }, h("label", { for: "job-validation" }, "Validation file"), validation),
    message,
    h(
      "div",
      { class: "form-actions" },
      submit,
      h("a", { class: "button quiet", href: `jobs/new?training_file=${file.id}` }, "All settings…"),
    ),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    replace(message);
    const method = report.format === "preference" ? "dpo" : "supervised";
    const hyperparameters = epochs.value ? { n_epochs: Number(epochs.value) } : {};
    try {
      const job = await request("/fine_tuning/jobs", {
        method: "POST",
        json: {
          model: model.value,
          training_file: file.id,
          suffix: suffix.value.trim() || undefined,
          validation_file: validation.value || undefined,
          method: { type: method, [method]: { hyperparameters } },
        },
      });
      navigate(`jobs/${job.id}`);
    } catch (error) {
      replace(message, errorNotice(error));
      submit.disabled = false;
    }
  });
  updateQuote();
  return h(
    "section",
    { class: "card", "aria-labelledby": "job-title" },
    h("h2", { id: "job-title" }, "Quote and train"),
    h(
      "div",
      { class: "quote-layout" },
      form,
      h("div", { class: "quote-box" }, h("h3", {}, "Cost quote"), quote),
    ),
  );
}

async function fileDetail(fileId, files, navigate) {
  const file = files.find((candidate) => candidate.id === fileId);
  if (!file)
    return h("p", { class: "notice error", role: "alert" }, `This project has no training file ${fileId}.`);
  const [report, models] = await Promise.all([request(`/files/${fileId}/validation`), listModels()]);
  const others = files.filter((other) => other.id !== fileId);
  return h(
    "div",
    { class: "file-detail" },
    h("h2", { class: "file-title" }, file.filename, " ", code(file.id)),
    h(
      "div",
      { class: "file-columns" },
      reportSection(report),
      jobSection(file, report, models, others, navigate),
    ),
  );
}

function uploadedNotice(files) {
  return files.map((file) => `Uploaded ${file.filename} as ${file.id} (${bytes(file.bytes)}).`).join(" ");
}

export function render(view, { params, signal, notice, navigate, setTitle }) {
  const { fileId } = params;
  setTitle(fileId ? `File ${fileId}` : "Files");
  const list = h("div", {}, loading("Loading files"));
  const detail = h("div", {}, fileId ? loading("Loading the report") : null);

  async function load() {
    try {
      const { data: files } = await request(`/files${query({ purpose: PURPOSE })}`);
      if (signal.aborted) return;
      replace(list, filesTable(files, fileId, remove));
      if (fileId) replace(detail, await fileDetail(fileId, files, navigate));
    } catch (error) {
      if (!signal.aborted) replace(fileId ? detail : list, errorNotice(error));
    }
  }

  async function remove(file) {
    try {
      await request(`/files/${file.id}`, { method: "DELETE" });
    } catch (error) {
      replace(detail, errorNotice(error));
      return;
    }
    if (file.id === fileId) navigate("files");
    else load();
  }

  view.append(
    pageHeader("Files"),
    h(
      "section",
      { "aria-label": "Upload" },
      dropZone({
        purpose: PURPOSE,
        signal,
        notice,
        onUploaded: (uploaded) =>
          navigate(`files/${uploaded[uploaded.length - 1].id}`, { notice: uploadedNotice(uploaded) }),
      }),
    ),
    detail,
    h(
      "section",
      { class: "card", "aria-labelledby": "files-title" },
      h("h2", { id: "files-title" }, "Training files"),
      list,
    ),
  );
  load();
}
