// A project's or a key's limits: a form that sets them, a summary of them, and what is held
// against each one now (the API's `spent`).
import { h } from "./dom.js";
import { bytes, dateTime, integer, usd } from "./format.js";

const COUNTS = [
  ["trained_tokens", "Trained tokens per period"],
  ["concurrent_jobs", "Unfinished jobs"],
  ["files", "Files kept"],
  ["stored_bytes", "Bytes of files kept"],
  ["requests_per_minute", "Requests per minute"],
  ["chat_tokens_per_minute", "Chat tokens per minute"],
];

/** "$5.00 a month · 2 jobs at once" or "No limits". */
export function limitsSummary(limits) {
  const parts = [];
  if (limits.spend_usd !== null) parts.push(`${usd(limits.spend_usd)} a ${limits.period}`);
  if (limits.trained_tokens !== null)
    parts.push(`${integer(limits.trained_tokens)} tokens a ${limits.period}`);
  if (limits.concurrent_jobs !== null) parts.push(`${integer(limits.concurrent_jobs)} jobs at once`);
  if (limits.files !== null) parts.push(`${integer(limits.files)} files`);
  if (limits.stored_bytes !== null) parts.push(bytes(limits.stored_bytes));
  if (limits.models !== null) parts.push(`models: ${limits.models.join(", ") || "none"}`);
  if (limits.requests_per_minute !== null) parts.push(`${integer(limits.requests_per_minute)} req/min`);
  if (limits.chat_tokens_per_minute !== null) {
    parts.push(`${integer(limits.chat_tokens_per_minute)} chat tokens/min`);
  }
  return parts.length ? parts.join(" · ") : "No limits";
}

/** "$1.20 of $5.00" with a bar, or "$1.20" where there is no limit. */
export function spendCell(spent, limits) {
  return usedOf(spent.spend_usd, limits.spend_usd, usd);
}

function usedOf(used, limit, show) {
  if (limit === null || limit === undefined) return h("span", {}, show(used));
  const share = limit > 0 ? Math.min(used / limit, 1) : 1;
  return h(
    "span",
    { class: "used-of" },
    h("span", {}, `${show(used)} of ${show(limit)}`),
    h(
      "span",
      { class: `used-bar${used >= limit ? " full" : ""}`, "aria-hidden": "true" },
      h("span", { style: `width: ${(share * 100).toFixed(1)}%` }),
    ),
  );
}

/** What is held against each limit now, as a table. */
export function standing(spent, limits) {
  const rows = [
    [`Spend this ${limits.period}`, spent.spend_usd, limits.spend_usd, usd],
    [`Trained tokens this ${limits.period}`, spent.trained_tokens, limits.trained_tokens, integer],
    ["Unfinished jobs", spent.concurrent_jobs, limits.concurrent_jobs, integer],
    ["Files kept", spent.files, limits.files, integer],
    ["Bytes of files kept", spent.stored_bytes, limits.stored_bytes, bytes],
  ];
  return h(
    "div",
    { class: "standing" },
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, "Held against the limits now"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Limit"), h("th", { scope: "col" }, "Used now"))),
      h(
        "tbody",
        {},
        rows.map(([label, used, limit, show]) =>
          h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, usedOf(used, limit, show))),
        ),
      ),
    ),
    h("p", { class: "hint" }, `This ${limits.period} began ${dateTime(spent.period_start)} (UTC).`),
  );
}

function numberField(id, label, value, { step = "1", hint } = {}) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h("input", {
      id,
      name: id,
      type: "number",
      min: "0",
      step,
      inputmode: step === "1" ? "numeric" : "decimal",
      placeholder: "No limit",
      value: value ?? "",
      "aria-describedby": hint ? `${id}-hint` : false,
    }),
    hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
  );
}

/** The limits form; `save(limits)` sends them and answers the object they were set on. Empty
 *  fields mean no limit. An error the API names a field of is shown next to that field. */
export function limitsForm(prefix, limits, save) {
  const id = (name) => `${prefix}-${name}`;
  const period = h(
    "select",
    { id: id("period"), name: "period" },
    ["month", "day"].map((value) =>
      h("option", { value, selected: value === limits.period }, `Per ${value}`),
    ),
  );
  const models = h("input", {
    id: id("models"),
    name: "models",
    type: "text",
    placeholder: "Any base model",
    value: limits.models?.join(", ") ?? "",
    "aria-describedby": id("models-hint"),
  });
  const status = h("p", { class: "form-status", role: "status" });
  const submit = h("button", { type: "submit", class: "button primary" }, "Save limits");
  const form = h(
    "form",
    { class: "limits-form", "aria-label": "Limits" },
    h("div", { class: "field" }, h("label", { for: id("period") }, "Period of spend and tokens"), period),
    numberField(id("spend_usd"), "Spend per period (USD)", limits.spend_usd, { step: "0.01" }),
    COUNTS.map(([name, label]) => numberField(id(name), label, limits[name])),
    h(
      "div",
      { class: "field wide" },
      h("label", { for: id("models") }, "Base models allowed"),
      models,
      h("p", { class: "hint", id: id("models-hint") }, "Comma-separated ids or aliases; empty allows any."),
    ),
    h("div", { class: "form-footer wide" }, submit, status),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const field of form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
    for (const note of form.querySelectorAll(".field-error")) note.remove();
    const body = { period: period.value };
    const spend = form.elements[id("spend_usd")].value;
    if (spend !== "") body.spend_usd = Number(spend);
    for (const [name] of COUNTS) {
      const value = form.elements[id(name)].value;
      if (value !== "") body[name] = Number(value);
    }
    const names = models.value
      .split(",")
      .map((name) => name.trim())
      .filter(Boolean);
    if (names.length) body.models = names;
    submit.disabled = true;
    status.textContent = "Saving…";
    try {
      await save(body);
      status.textContent = "Limits saved.";
    } catch (error) {
      status.textContent = "";
      const field = error.param && form.elements[id(error.param.split(/[.[]/)[0])];
      const note = h("p", { class: "field-error", role: "alert" }, error.message);
      if (field) {
        field.setAttribute("aria-invalid", "true");
        field.after(note);
        field.focus();
      } else {
        status.before(note);
      }
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
