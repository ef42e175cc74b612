// The models this project can run: the base models offered here (and where each runs), and its
// fine-tuned models with their checkpoints, to open in the playground, export or delete.
import { query, request } from "../api.js";
import { baseOf, listBaseModels, listModels, whereRuns } from "../catalog.js";
import { h, replace, table } from "../dom.js";
import { listAll } from "../evals.js";
import { dateTime, integer, usd } from "../format.js";
import { exportWeights } from "../weights.js";
import { code, confirmingButton, copyButton, errorNotice, loading, modelName, pageHeader } from "../widgets.js";

function whereBadge(provider) {
  const local = provider === "local";
  return h(
    "span",
    { class: `badge where ${local ? "where-local" : "where-upstream"}` },
    whereRuns({ provider }),
  );
}

function playgroundLink(model, base) {
  return h(
    "a",
    {
      class: "button small quiet",
      href: `playground${query({ base, model: model === base ? undefined : model })}`,
      "aria-label": `Open ${model} in the playground`,
    },
    "Open in playground",
  );
}

/** Export buttons for a model whose weights are here; an upstream keeps its own. */
function exportButtons(model, provider, status) {
  if (provider !== "local") return h("span", { class: "muted weights-elsewhere" }, `Weights held by ${provider}`);
  const button = (format, label) => {
    const element = h(
      "button",
      { type: "button", class: "button small quiet", "aria-label": `Export ${model}: ${label}` },
      `Export ${label}`,
    );
    element.addEventListener("click", async () => {
      element.disabled = true;
      status.textContent = `Preparing the ${label} of ${model}…`;
      try {
        await exportWeights(model, format);
        status.textContent = `Exported the ${label} of ${model}.`;
      } catch (error) {
        status.textContent = error.message;
      } finally {
        element.disabled = false;
      }
    });
    return element;
  };
  return [button("adapter", "adapter"), button("merged", "merged model")];
}

function baseTable(baseModels) {
  return table({
    caption: "Base models",
    empty: "No base model can run here: the operator has configured none.",
    rows: baseModels,
    columns: [
      {
        label: "Model",
        cell: (model) =>
          h(
            "div",
            {},
            code(model.id),
            model.aliases.length ? h("div", { class: "muted" }, `also ${model.aliases.join(", ")}`) : null,
          ),
      },
      { label: "Runs", cell: (model) => whereBadge(model.provider) },
      { label: "Methods", cell: (model) => model.methods.join(", ") },
      { label: "Token limit", class: "number", cell: (model) => integer(model.token_limit) },
      { label: "Training / 1M", class: "number", cell: (model) => usd(model.training_price_per_1m) },
      {
        label: "Chat in / out per 1M",
        class: "number nowrap",
        cell: (model) => `${usd(model.chat_input_price_per_1m)} / ${usd(model.chat_output_price_per_1m)}`,
      },
      {
        label: "Actions",
        class: "actions-cell",
        cell: (model) =>
          h(
            "span",
            { class: "model-actions" },
            h(
              "a",
              {
                class: "button small quiet",
                href: `jobs/new${query({ model: model.id })}`,
                "aria-label": `Fine-tune ${model.id}`,
              },
              "Fine-tune",
            ),
            playgroundLink(model.id, model.id),
          ),
      },
    ],
  });
}

/** The job's checkpoints, read when the list is first opened. */
function checkpointList(job, base, provider, status) {
  const list = h("div", {}, loading("Loading checkpoints"));
  const details = h("details", { class: "checkpoint-list" }, h("summary", {}, "Checkpoints"), list);
  let read = false;
  details.addEventListener("toggle", async () => {
    if (!details.open || read) return;
    read = true;
    try {
      const { data } = await request(`/fine_tuning/jobs/${job.id}/checkpoints?limit=100`);
      replace(
        list,
        table({
          caption: `Checkpoints of ${job.fine_tuned_model}`,
          empty: "This job saved no checkpoints.",
          rows: data,
          columns: [
            { label: "Step", class: "number", cell: (checkpoint) => String(checkpoint.step_number) },
            {
              label: "Checkpoint model",
              cell: (checkpoint) => modelName(checkpoint.fine_tuned_model_checkpoint),
            },
            {
              label: "Actions",
              class: "actions-cell",
              cell: (checkpoint) =>
                h(
                  "span",
                  { class: "model-actions" },
                  copyButton(checkpoint.fine_tuned_model_checkpoint),
                  playgroundLink(checkpoint.fine_tuned_model_checkpoint, base),
                  exportButtons(checkpoint.fine_tuned_model_checkpoint, provider, status),
                ),
            },
          ],
        }),
      );
    } catch (error) {
      read = false;
      replace(list, errorNotice(error));
    }
  });
  return details;
}

/** One card per fine-tuned model: its name, where it runs, its job, its actions, its checkpoints. */
function tunedList(tuned, jobs, providers, status, onDelete) {
  if (!tuned.length) {
    return h("p", { class: "empty" }, "No fine-tuned models yet. ", h("a", { href: "jobs/new" }, "Start a job"), ".");
  }
  return h(
    "ul",
    { class: "plain tuned-models", "aria-labelledby": "tuned-title" },
    tuned.map((model) => {
      const base = baseOf(model.id);
      const provider = providers.get(base);
      const job = jobs.get(model.id);
      return h(
        "li",
        { class: "tuned-model" },
        h(
          "div",
          { class: "tuned-model-header" },
          modelName(model.id),
          whereBadge(provider),
          h(
            "span",
            { class: "model-actions" },
            copyButton(model.id),
            playgroundLink(model.id, base),
            exportButtons(model.id, provider, status),
            confirmingButton("Delete", "Confirm delete", () => onDelete(model), "button small quiet"),
          ),
        ),
        h(
          "p",
          { class: "tuned-model-facts muted" },
          `Base model ${base} · created ${dateTime(model.created)}`,
          job ? [" · job ", h("a", { href: `jobs/${job.id}` }, code(job.id))] : null,
        ),
        job ? checkpointList(job, base, provider, status) : null,
      );
    }),
  );
}

export function render(view, { signal, setTitle }) {
  setTitle("Models");
  const base = h("div", {}, loading("Loading base models"));
  const tuned = h("div", {}, loading("Loading fine-tuned models"));
  const status = h("p", { class: "upload-status", role: "status", id: "models-status" });
  view.append(
    pageHeader("Models"),
    h(
      "p",
      { class: "lede" },
      "The models this project can run: those offered here, and the ones it has fine-tuned.",
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "base-title" },
      h("h2", { id: "base-title" }, "Base models"),
      base,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "tuned-title" },
      h("h2", { id: "tuned-title" }, "Fine-tuned models"),
      status,
      tuned,
    ),
  );

  async function remove(model) {
    try {
      await request(`/models/${model.id}`, { method: "DELETE" });
      status.textContent = `Deleted ${model.id}.`;
    } catch (error) {
      status.textContent = error.message;
    }
    await load();
  }

  async function load() {
    try {
      const [baseModels, models, jobList] = await Promise.all([
        listBaseModels(),
        listModels(),
        listAll("/fine_tuning/jobs"),
      ]);
      if (signal.aborted) return;
      const providers = new Map(baseModels.map((model) => [model.id, model.provider]));
      const jobs = new Map(jobList.filter((job) => job.fine_tuned_model).map((job) => [job.fine_tuned_model, job]));
      const ownTuned = models.tuned.filter((model) => providers.has(baseOf(model.id)));
      ownTuned.sort((a, b) => b.created - a.created);
      replace(base, baseTable(baseModels));
      replace(tuned, tunedList(ownTuned, jobs, providers, status, remove));
    } catch (error) {
      if (!signal.aborted) replace(tuned, errorNotice(error));
    }
  }
  load();
}
