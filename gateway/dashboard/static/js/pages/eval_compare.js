// Two runs of one eval side by side: totals, pass rate per criterion, and their items matched by
// the data source item each one graded.
import { h, replace, table } from "../dom.js";
import { integer, percent, pointsChange } from "../format.js";
import { criterionResults, evalPath, listAll, passRate, runPassRate } from "../evals.js";
import { errorNotice, loading } from "../widgets.js";
import { graderResults, itemFields, resultBadge, sampleOutput } from "./eval_sections.js";
import { rateCell, runError, runHeading } from "./eval_run.js";

const PAGE_SIZE = 20;

function runColumnLabel(letter, run) {
  return h(
    "span",
    { class: "run-label" },
    `${letter}: ${run.name}`,
    h("span", { class: "muted" }, ` ${run.id}`),
  );
}

function countsTable(first, second) {
  const rows = [
    ["Passed", (run) => run.result_counts.passed],
    ["Failed", (run) => run.result_counts.failed],
    ["Errored", (run) => run.result_counts.errored],
    ["Total", (run) => run.result_counts.total],
  ];
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { id: "compare-totals" },
      h("caption", { class: "visually-hidden" }, "Totals of both runs"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Result"),
          h("th", { scope: "col", class: "number" }, runColumnLabel("A", first)),
          h("th", { scope: "col", class: "number" }, runColumnLabel("B", second)),
          h("th", { scope: "col", class: "number" }, "B − A"),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map(([label, value]) => {
          const change = value(second) - value(first);
          return h(
            "tr",
            {},
            h("th", { scope: "row" }, label),
            h("td", { class: "number" }, integer(value(first))),
            h("td", { class: "number" }, integer(value(second))),
            h(
              "td",
              { class: "number" },
              `${change > 0 ? "+" : change < 0 ? "−" : "±"}${integer(Math.abs(change))}`,
            ),
          );
        }),
        h(
          "tr",
          {},
          h("th", { scope: "row" }, "Pass rate"),
          h("td", { class: "number" }, percent(runPassRate(first))),
          h("td", { class: "number" }, percent(runPassRate(second))),
          h("td", { class: "number" }, pointsChange(runPassRate(first), runPassRate(second))),
        ),
      ),
    ),
  );
}

function criteriaTable(evaluation, first, second) {
  const secondResults = new Map(
    criterionResults(evaluation, second).map((row) => [row.criterion, row.result]),
  );
  const rows = criterionResults(evaluation, first).map((row) => ({
    name: row.name,
    first: row.result ?? { passed: 0, failed: 0 },
    second: secondResults.get(row.criterion) ?? { passed: 0, failed: 0 },
  }));
  const rate = (result) => passRate(result.passed, result.failed);
  const counted = (result) => `${integer(result.passed)} of ${integer(result.passed + result.failed)}`;
  return table({
    caption: "Pass rate per criterion in both runs",
    empty: "This eval has no testing criteria.",
    rows,
    columns: [
      { label: "Criterion", cell: (row) => row.name },
      {
        label: "A",
        class: "number",
        cell: (row) => [
          rateCell(row.first.passed, row.first.failed),
          h("div", { class: "muted" }, counted(row.first)),
        ],
      },
      {
        label: "B",
        class: "number",
        cell: (row) => [
          rateCell(row.second.passed, row.second.failed),
          h("div", { class: "muted" }, counted(row.second)),
        ],
      },
      { label: "B − A", class: "number", cell: (row) => pointsChange(rate(row.first), rate(row.second)) },
    ],
  });
}

function sideCell(item, nameOf) {
  if (!item) return h("span", { class: "muted" }, "Not in this run");
  return h(
    "div",
    { class: "side" },
    resultBadge(item.status),
    sampleOutput(item.sample),
    graderResults(item.results, nameOf),
  );
}

/** Rows of matched items: one per data source item that either run graded, in item order. */
function matchItems(firstItems, secondItems) {
  const rows = new Map();
  const row = (id) => rows.get(id) ?? rows.set(id, { id, first: null, second: null }).get(id);
  for (const item of firstItems) row(item.datasource_item_id).first = item;
  for (const item of secondItems) row(item.datasource_item_id).second = item;
  return [...rows.values()].sort((a, b) => a.id - b.id);
}

function differs(row) {
  return row.first?.status !== row.second?.status;
}

function matchedItems(nameOf) {
  const filter = h(
    "select",
    { id: "compare-filter", name: "show" },
    h("option", { value: "" }, "All items"),
    h("option", { value: "differ" }, "Results differ"),
  );
  const previous = h("button", { type: "button", class: "button", disabled: true }, "← Previous");
  const next = h("button", { type: "button", class: "button", disabled: true }, "Next →");
  const pageLabel = h("span", { class: "muted", id: "items-page" });
  const results = h("div", { class: "items", "aria-busy": "true" }, loading("Loading items of both runs"));
  const element = h(
    "section",
    { class: "card", "aria-labelledby": "items-title" },
    h(
      "div",
      { class: "section-header" },
      h("h2", { id: "items-title" }, "Items side by side"),
      h(
        "div",
        { class: "toolbar" },
        h("label", { for: "compare-filter" }, "Show"),
        filter,
        h("nav", { class: "pager", "aria-label": "Item pages" }, previous, pageLabel, next),
      ),
    ),
    results,
  );
  let rows = [];
  let index = 0;
  let labels = { first: "A", second: "B" };

  function draw() {
    const chosen = filter.value === "differ" ? rows.filter(differs) : rows;
    const pages = Math.max(1, Math.ceil(chosen.length / PAGE_SIZE));
    index = Math.min(index, pages - 1);
    const page = chosen.slice(index * PAGE_SIZE, (index + 1) * PAGE_SIZE);
    pageLabel.textContent = page.length
      ? `Items ${index * PAGE_SIZE + 1}–${index * PAGE_SIZE + page.length} of ${chosen.length}`
      : "No items";
    previous.disabled = index === 0;
    next.disabled = index >= pages - 1;
    replace(
      results,
      table({
        caption: "Items of both runs",
        empty: filter.value === "differ" ? "Both runs agree on every item." : "No items yet.",
        rows: page,
        columns: [
          {
            label: "Item",
            class: "number",
            cell: (row) => [String(row.id), differs(row) ? h("span", { class: "differs" }, "differs") : null],
          },
          {
            label: "Fields",
            class: "fields",
            cell: (row) => itemFields((row.first ?? row.second).datasource_item),
          },
          { label: labels.first, class: "text side-a", cell: (row) => sideCell(row.first, nameOf) },
          { label: labels.second, class: "text side-b", cell: (row) => sideCell(row.second, nameOf) },
        ],
      }),
    );
  }

  filter.addEventListener("change", () => {
    index = 0;
    draw();
  });
  previous.addEventListener("click", () => {
    index -= 1;
    draw();
  });
  next.addEventListener("click", () => {
    index += 1;
    draw();
  });

  function show(firstItems, secondItems, first, second) {
    rows = matchItems(firstItems, secondItems);
    labels = { first: `A: ${first.name}`, second: `B: ${second.name}` };
    draw();
    results.setAttribute("aria-busy", "false");
  }
  function fail(error) {
    replace(results, errorNotice(error));
  }
  return { element, show, fail };
}

/** Both runs' report; `update(first, second)` redraws what changed and reads their items again. */
export function compareReport(evaluation, nameOf, signal) {
  const headings = h("div", { class: "compare-headings" }, loading("Loading runs"));
  const summary = h("div", { class: "compare-summary" });
  const items = matchedItems(nameOf);
  const element = h(
    "section",
    { class: "run-report compare", "aria-labelledby": "compare-title" },
    h("h2", { id: "compare-title", class: "visually-hidden" }, "Two runs compared"),
    headings,
    summary,
    items.element,
  );
  let shown = "";
  let asked = 0;

  async function loadItems(first, second) {
    const ticket = ++asked;
    try {
      const read = (run) =>
        listAll(evalPath(evaluation.id, "runs", run.id, "output_items"), { order: "asc" });
      const [firstItems, secondItems] = await Promise.all([read(first), read(second)]);
      if (signal.aborted || ticket !== asked) return;
      items.show(firstItems, secondItems, first, second);
    } catch (error) {
      if (!signal.aborted && ticket === asked) items.fail(error);
    }
  }

  function update(first, second) {
    const snapshot = JSON.stringify([first, second]);
    if (snapshot === shown) return;
    shown = snapshot;
    const side = (letter, run) =>
      h(
        "div",
        { class: "card run-side", id: `run-${letter.toLowerCase()}` },
        h("p", { class: "side-letter", "aria-hidden": "true" }, letter),
        h(
          "div",
          { class: "run-heading-body" },
          runHeading(run, `run-${letter.toLowerCase()}-title`, `Run ${letter}`),
          runError(run),
        ),
      );
    replace(headings, side("A", first), side("B", second));
    replace(
      summary,
      h(
        "div",
        { class: "eval-columns" },
        h(
          "section",
          { class: "card", "aria-labelledby": "compare-totals-title" },
          h("h3", { id: "compare-totals-title" }, "Totals"),
          countsTable(first, second),
        ),
        h(
          "section",
          { class: "card", "aria-labelledby": "compare-criteria-title" },
          h("h3", { id: "compare-criteria-title" }, "Pass rate per criterion"),
          criteriaTable(evaluation, first, second),
        ),
      ),
    );
    loadItems(first, second);
  }
  return { element, update };
}
