// The parts of a job's page, each drawn from the API's objects.
import { downloadFile, query, request } from "../api.js";
import { trainingCost, trainingPrice } from "../catalog.js";
import { facts, h, table } from "../dom.js";
import {
  TERMINAL_STATUSES,
  dateTime,
  decimal,
  duration,
  integer,
  jobDuration,
  time,
  usd,
} from "../format.js";
import { code, copyButton, modelName } from "../widgets.js";

const CHECKPOINT_METRICS = [
  ["train_loss", "Train loss"],
  ["train_mean_token_accuracy", "Train accuracy"],
  ["valid_loss", "Valid loss"],
  ["valid_mean_token_accuracy", "Valid accuracy"],
  ["full_valid_loss", "Full valid loss"],
  ["full_valid_mean_token_accuracy", "Full valid accuracy"],
];

/** A link that opens the playground on `model`; `named` spells the model out for screen readers
 *  where the link sits in a table row. */
function playgroundLink(model, base, { named = false } = {}) {
  const href = `playground${query({ base, model })}`;
  return h(
    "a",
    { class: "button small quiet", href, "aria-label": named ? `Open ${model} in the playground` : null },
    "Open in playground",
  );
}

function hyperparameters(job) {
  const type = job.method?.type ?? "supervised";
  return { type, ...(job.method?.[type]?.hyperparameters ?? job.hyperparameters) };
}

export async function costText(job) {
  if (job.trained_tokens !== null) {
    return usd(trainingCost(job.trained_tokens, await trainingPrice(job.model, job.training_file)));
  }
  if (TERMINAL_STATUSES.has(job.status)) return "—";
  const { n_epochs: epochs } = hyperparameters(job);
  const n_epochs = Number.isInteger(epochs) ? epochs : undefined;
  const estimate = await request(
    `/files/${job.training_file}/quote${query({ model: job.model, n_epochs })}`,
  ).catch(() => null);
  return estimate ? `≈ ${usd(estimate.estimated_cost)} (estimate)` : "—";
}

export function details(job, cost, finish) {
  const settings = hyperparameters(job);
  const fileLink = (id) => (id ? h("a", { href: `files/${id}` }, code(id)) : null);
  const running = !TERMINAL_STATUSES.has(job.status);
  return facts([
    ["Base model", job.model],
    ["Suffix", job.user_provided_suffix ?? "—"],
    ["Method", settings.type],
    ["Epochs", String(settings.n_epochs)],
    ["Batch size", String(settings.batch_size)],
    ["Learning rate multiplier", String(settings.learning_rate_multiplier)],
    ["Beta", settings.beta === undefined ? null : String(settings.beta)],
    ["Seed", String(job.seed)],
    ["Training file", fileLink(job.training_file)],
    ["Validation file", fileLink(job.validation_file) ?? "—"],
    ["Created", dateTime(job.created_at)],
    running
      ? ["Estimated finish", finish]
      : ["Finished", dateTime(job.finished_at)],
    ["Duration", duration(jobDuration(job))],
    ["Trained tokens", integer(job.trained_tokens)],
    ["Cost", cost],
    [
      "Result files",
      job.result_files.length
        ? h(
            "ul",
            { class: "plain" },
            job.result_files.map((id) =>
              h(
                "li",
                {},
                h(
                  "button",
                  {
                    type: "button",
                    class: "link-button",
                    onclick: () => downloadFile(id, "step_metrics.csv"),
                  },
                  "step_metrics.csv",
                ),
                " ",
                code(id),
              ),
            ),
          )
        : null,
    ],
    [
      "Metadata",
      job.metadata && Object.keys(job.metadata).length
        ? h(
            "ul",
            { class: "plain" },
            Object.entries(job.metadata).map(([key, value]) => h("li", {}, code(`${key}=${value}`))),
          )
        : null,
    ],
  ]);
}

export function modelBanner(job) {
  if (job.error) {
    return h(
      "div",
      { class: "notice error", role: "alert" },
      h("strong", {}, `Failed: ${job.error.code}`),
      ` ${job.error.message}`,
      job.error.param ? h("span", { class: "muted" }, ` (param: ${job.error.param})`) : null,
    );
  }
  if (!job.fine_tuned_model) return null;
  return h(
    "div",
    { class: "model-banner card" },
    h("span", { class: "label" }, "Fine-tuned model"),
    modelName(job.fine_tuned_model, "fine-tuned-model"),
    copyButton(job.fine_tuned_model),
    playgroundLink(job.fine_tuned_model, job.model),
  );
}

export function checkpointsTable(checkpoints, job) {
  const present = CHECKPOINT_METRICS.filter(([key]) =>
    checkpoints.some((checkpoint) => key in checkpoint.metrics),
  );
  return table({
    caption: "Checkpoints",
    empty: "No checkpoints yet: one is saved at the end of each epoch.",
    rows: checkpoints,
    columns: [
      { label: "Step", class: "number", cell: (checkpoint) => String(checkpoint.step_number) },
      {
        label: "Checkpoint model",
        class: "checkpoint",
        cell: (checkpoint) => [
          modelName(checkpoint.fine_tuned_model_checkpoint),
          h(
            "span",
            { class: "row-actions" },
            copyButton(checkpoint.fine_tuned_model_checkpoint),
            playgroundLink(checkpoint.fine_tuned_model_checkpoint, job.model, { named: true }),
          ),
        ],
      },
      ...present.map(([key, label]) => ({
        label,
        class: "number",
        cell: (checkpoint) => decimal(checkpoint.metrics[key]),
      })),
    ],
  });
}

export function eventItem(event) {
  return h(
    "li",
    { class: `event level-${event.level} type-${event.type}` },
    h("time", { datetime: new Date(event.created_at * 1000).toISOString() }, time(event.created_at)),
    event.level === "info" ? null : h("span", { class: `badge level-${event.level}` }, event.level),
    h("span", { class: "message" }, event.message),
  );
}
