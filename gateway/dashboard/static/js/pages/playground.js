// Two models, one prompt: a base model's answer beside a fine-tuned model's (or checkpoint's).
import { request } from "../api.js";
import { listModels } from "../catalog.js";
import { h, replace } from "../dom.js";
import { integer } from "../format.js";
import { errorNotice, modelName, pageHeader } from "../widgets.js";

function field(id, label, control, hint) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
  );
}

function answerPanel(side, title) {
  const body = h("div", { class: "answer-body" }, h("p", { class: "muted" }, "The answer appears here."));
  const panel = h(
    "section",
    {
      class: "card answer",
      id: `answer-${side}`,
      "aria-labelledby": `answer-${side}-title`,
      "aria-live": "polite",
    },
    h("h2", { id: `answer-${side}-title` }, title),
    body,
  );
  return { panel, body };
}

function answerText(completion) {
  const content = completion.choices[0].message.content ?? "";
  if (content.trim() === "") {
    return h(
      "p",
      { class: "answer-text muted" },
      `The answer is blank: ${content.length} whitespace characters.`,
    );
  }
  return h(
    "div",
    { class: "answer-text", tabindex: "0", role: "region", "aria-label": `Answer of ${completion.model}` },
    content,
  );
}

async function complete(model, messages, options) {
  const started = performance.now();
  const completion = await request("/chat/completions", {
    method: "POST",
    json: { model, messages, ...options },
  });
  return { completion, latency: performance.now() - started };
}

function showAnswer(body, panel, model, run) {
  panel.setAttribute("aria-busy", "true");
  replace(
    body,
    h("p", { class: "answer-model" }, modelName(model)),
    h("p", { class: "loading" }, "Generating…"),
  );
  return run
    .then(
      ({ completion, latency }) => {
        const { usage } = completion;
        replace(
          body,
          h("p", { class: "answer-model" }, modelName(completion.model)),
          answerText(completion),
          h(
            "p",
            { class: "answer-meta" },
            h("span", { class: "prompt-tokens" }, `${integer(usage.prompt_tokens)} prompt tokens`),
            h(
              "span",
              { class: "completion-tokens" },
              `${integer(usage.completion_tokens)} completion tokens`,
            ),
            h("span", { class: "latency" }, `${Math.round(latency)} ms`),
            h("span", {}, `finish: ${completion.choices[0].finish_reason}`),
          ),
        );
      },
      (error) => replace(body, h("p", { class: "answer-model" }, modelName(model)), errorNotice(error)),
    )
    .finally(() => panel.setAttribute("aria-busy", "false"));
}

export async function render(view, { query, signal, setTitle }) {
  setTitle("Playground");
  const baseSelect = h("select", { id: "base-model", name: "base", required: true });
  const tunedInput = h("input", {
    id: "tuned-model",
    name: "model",
    list: "tuned-models",
    placeholder: "ft:… or a checkpoint",
    autocomplete: "off",
    spellcheck: "false",
    value: query.get("model") ?? "",
    "aria-describedby": "tuned-model-hint",
  });
  const tunedList = h("datalist", { id: "tuned-models" });
  const system = h("textarea", {
    id: "system-message",
    name: "system",
    rows: "3",
    placeholder: "You are a helpful assistant.",
  });
  const user = h("textarea", {
    id: "user-message",
    name: "user",
    rows: "3",
    required: true,
    placeholder: "Ask something…",
  });
  const maxTokens = h("input", {
    id: "max-tokens",
    name: "max_tokens",
    type: "number",
    min: "1",
    max: "4096",
    value: "200",
  });
  const temperature = h("input", {
    id: "temperature",
    name: "temperature",
    type: "number",
    min: "0",
    max: "2",
    step: "0.1",
    value: "0",
  });
  const run = h("button", { type: "submit", class: "button primary" }, "Run both");
  const left = answerPanel("base", "Base model answer");
  const right = answerPanel("tuned", "Fine-tuned model answer");

  const form = h(
    "form",
    { class: "card playground-form" },
    h(
      "div",
      { class: "two-columns" },
      field("base-model", "Base model", baseSelect),
      field(
        "tuned-model",
        "Fine-tuned model or checkpoint",
        h("span", {}, tunedInput, tunedList),
        "Pick from the list or paste a checkpoint name.",
      ),
    ),
    field("system-message", "System message", system),
    field("user-message", "User message", user),
    h(
      "div",
      { class: "form-footer" },
      field("max-tokens", "Max tokens", maxTokens),
      field("temperature", "Temperature", temperature),
      run,
    ),
  );
  view.append(
    pageHeader("Playground"),
    h(
      "p",
      { class: "lede" },
      "Send the same messages to a base model and a fine-tuned one, and compare the answers.",
    ),
    form,
    h("div", { class: "answers" }, left.panel, right.panel),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const messages = [
      ...(system.value.trim() ? [{ role: "system", content: system.value }] : []),
      { role: "user", content: user.value },
    ];
    const options = { max_tokens: Number(maxTokens.value), temperature: Number(temperature.value) };
    const tuned = tunedInput.value.trim();
    run.disabled = true;
    await Promise.all([
      showAnswer(left.body, left.panel, baseSelect.value, complete(baseSelect.value, messages, options)),
      tuned ? showAnswer(right.body, right.panel, tuned, complete(tuned, messages, options)) : null,
    ]);
    run.disabled = false;
  });

  try {
    const models = await listModels();
    if (signal.aborted) return;
    const wanted = query.get("base");
    replace(
      baseSelect,
      models.base.map((model) => h("option", { value: model.id, selected: model.id === wanted }, model.id)),
    );
    replace(
      tunedList,
      models.tuned.map((model) => h("option", { value: model.id })),
    );
    if (!tunedInput.value && models.tuned.length) tunedInput.value = models.tuned[models.tuned.length - 1].id;
  } catch (error) {
    form.prepend(errorNotice(error));
  }
}
