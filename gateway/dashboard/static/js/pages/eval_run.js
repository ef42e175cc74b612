// One run's report: its totals, pass rate per criterion, model usage, and its graded items.
import { query, request } from "../api.js";
import { h, replace, table } from "../dom.js";
import { dateTime, integer, percent } from "../format.js";
import { criterionResults, evalPath, passRate, runPassRate } from "../evals.js";
import { code, errorNotice, loading, statusBadge } from "../widgets.js";
import { graderResults, itemFields, resultBadge, sampleInput, sampleOutput } from "./eval_sections.js";

const PAGE_SIZE = 20;

/** The run's name, status, id, model and creation time; `label` says which side it is. */
export function runHeading(run, id = "run-title", label = null) {
  return h(
    "div",
    { class: "run-heading" },
    h("h2", { id }, label ? h("span", { class: "visually-hidden" }, `${label}: `) : null, run.name),
    statusBadge(run.status),
    code(run.id),
    h("span", { class: "muted" }, `${run.model ? `${run.model} · ` : ""}${dateTime(run.created_at)}`),
  );
}

export function runError(run) {
  if (!run.error) return null;
  return h(
    "p",
    { class: "notice error", role: "alert" },
    h("strong", {}, `Failed: ${run.error.code}`),
    ` ${run.error.message}`,
  );
}

function stat(name, label, value) {
  return h("div", { dataset: { stat: name } }, h("dt", {}, label), h("dd", {}, value));
}

function totals(run) {
  const counts = run.result_counts;
  return h(
    "dl",
    { class: "facts stats", id: "run-totals", "aria-label": "Totals" },
    stat("passed", "Passed", integer(counts.passed)),
    stat("failed", "Failed", integer(counts.failed)),
    stat("errored", "Errored", integer(counts.errored)),
    stat("total", "Total", integer(counts.total)),
    stat("pass-rate", "Pass rate", percent(runPassRate(run))),
  );
}

/** A pass rate as text and as a bar (the bar is decoration: the text says it). */
export function rateCell(passed, failed) {
  const rate = passRate(passed, failed);
  return h(
    "span",
    { class: "rate" },
    h(
      "span",
      { class: "rate-bar", "aria-hidden": "true" },
      h("span", { style: `width: ${(rate ?? 0) * 100}%` }),
    ),
    h("span", { class: "rate-text" }, percent(rate)),
  );
}

function criteriaRates(evaluation, run) {
  return table({
    caption: "Pass rate per criterion",
    empty: "No criterion has graded an item yet.",
    rows: criterionResults(evaluation, run),
    columns: [
      { label: "Criterion", cell: (row) => row.name },
      { label: "Passed", class: "number", cell: (row) => integer(row.result?.passed ?? 0) },
      { label: "Failed", class: "number", cell: (row) => integer(row.result?.failed ?? 0) },
      {
        label: "Pass rate",
        class: "number",
        cell: (row) => rateCell(row.result?.passed ?? 0, row.result?.failed ?? 0),
      },
    ],
  });
}

function modelUsage(run) {
  return table({
    caption: "Model usage",
    empty: "No model was called in this run.",
    rows: run.per_model_usage ?? [],
    columns: [
      { label: "Model", cell: (usage) => usage.model_name },
      { label: "Calls", class: "number", cell: (usage) => integer(usage.invocation_count) },
      { label: "Prompt tokens", class: "number", cell: (usage) => integer(usage.prompt_tokens) },
      { label: "Completion tokens", class: "number", cell: (usage) => integer(usage.completion_tokens) },
      { label: "Cached tokens", class: "number", cell: (usage) => integer(usage.cached_tokens) },
      { label: "Total tokens", class: "number", cell: (usage) => integer(usage.total_tokens) },
    ],
  });
}

function itemsTable(items, nameOf) {
  const withInput = items.some((item) => item.sample?.input?.length);
  return table({
    caption: "Output items",
    rows: items,
    columns: [
      { label: "Item", class: "number", cell: (item) => String(item.datasource_item_id) },
      { label: "Result", cell: (item) => resultBadge(item.status) },
      { label: "Fields", class: "fields", cell: (item) => itemFields(item.datasource_item) },
      withInput ? { label: "Input", class: "text", cell: (item) => sampleInput(item.sample) } : null,
      { label: "Output", class: "text", cell: (item) => sampleOutput(item.sample) },
      { label: "Graders", class: "graders", cell: (item) => graderResults(item.results, nameOf) },
    ].filter(Boolean),
  });
}

/** The run's output items, a page at a time (`after` cursors), all of them or those that passed
 *  or failed. `reload()` reads the page shown again, as a running run adds items. */
function itemsBrowser(evalId, runId, nameOf, signal) {
  const filter = h(
    "select",
    { id: "item-filter", name: "status" },
    h("option", { value: "" }, "All items"),
    h("option", { value: "pass" }, "Passed"),
    h("option", { value: "fail" }, "Failed"),
  );
  const previous = h("button", { type: "button", class: "button", disabled: true }, "← Previous");
  const next = h("button", { type: "button", class: "button", disabled: true }, "Next →");
  const pageLabel = h("span", { class: "muted", id: "items-page" });
  const results = h("div", { class: "items", "aria-busy": "true" }, loading("Loading items"));
  const element = h(
    "section",
    { class: "card", "aria-labelledby": "items-title" },
    h(
      "div",
      { class: "section-header" },
      h("h2", { id: "items-title" }, "Items"),
      h(
        "div",
        { class: "toolbar" },
        h("label", { for: "item-filter" }, "Show"),
        filter,
        h("nav", { class: "pager", "aria-label": "Item pages" }, previous, pageLabel, next),
      ),
    ),
    results,
  );

  let cursors = [undefined];
  let index = 0;
  let following = null;
  let asked = 0;

  async function load() {
    const ticket = ++asked;
    results.setAttribute("aria-busy", "true");
    try {
      const path = evalPath(evalId, "runs", runId, "output_items");
      const page = await request(
        `${path}${query({ limit: PAGE_SIZE, after: cursors[index], status: filter.value, order: "asc" })}`,
      );
      if (signal.aborted || ticket !== asked) return;
      following = page.has_more && page.data.length ? page.data[page.data.length - 1].id : null;
      const first = index * PAGE_SIZE + 1;
      const shown = page.data.length ? `Items ${first}–${first + page.data.length - 1}` : "No items";
      pageLabel.textContent = shown;
      replace(
        results,
        page.data.length
          ? itemsTable(page.data, nameOf)
          : h(
              "p",
              { class: "empty" },
              filter.value ? `No ${filter.selectedOptions[0].text.toLowerCase()} items.` : "No items yet.",
            ),
      );
      previous.disabled = index === 0;
      next.disabled = following === null;
      results.setAttribute("aria-busy", "false");
    } catch (error) {
      if (!signal.aborted && ticket === asked) replace(results, errorNotice(error));
    }
  }

  filter.addEventListener("change", () => {
    cursors = [undefined];
    index = 0;
    load();
  });
  previous.addEventListener("click", () => {
    index -= 1;
    load();
  });
  next.addEventListener("click", () => {
    cursors[index + 1] = following;
    index += 1;
    load();
  });
  return { element, reload: load };
}

/** The report of one run; `update(run)` redraws what changed since the last one. */
export function runReport(evaluation, runId, nameOf, signal) {
  const heading = h("div", { class: "run-heading-slot" });
  const summary = h("div", { class: "run-summary" }, loading("Loading run"));
  const items = itemsBrowser(evaluation.id, runId, nameOf, signal);
  const element = h(
    "section",
    { class: "run-report", "aria-labelledby": "run-title" },
    heading,
    summary,
    items.element,
  );
  let shown = "";

  function update(run) {
    const snapshot = JSON.stringify(run);
    if (snapshot === shown) return;
    shown = snapshot;
    replace(heading, runHeading(run), runError(run));
    replace(
      summary,
      totals(run),
      h(
        "div",
        { class: "eval-columns" },
        h(
          "section",
          { class: "card", "aria-labelledby": "criteria-rates-title" },
          h("h3", { id: "criteria-rates-title" }, "Pass rate per criterion"),
          criteriaRates(evaluation, run),
        ),
        h(
          "section",
          { class: "card", "aria-labelledby": "usage-title" },
          h("h3", { id: "usage-title" }, "Model usage"),
          modelUsage(run),
        ),
      ),
    );
    items.reload();
  }
  return { element, update };
}
