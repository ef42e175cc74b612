// Two or more runs of one eval side by side, lettered A, B, C…: totals, pass rate per criterion, and
// their items matched by the data source item each one graded. Each later run is compared with A.
import { h, replace, table } from "../dom.js";
import { integer, percent, pointsChange } from "../format.js";
import { criterionResults, evalPath, listAll, passRate, runPassRate } from "../evals.js";
import { errorNotice, loading } from "../widgets.js";
import { graderResults, itemFields, resultBadge, sampleOutput } from "./eval_sections.js";
import { rateCell, runError, runHeading } from "./eval_run.js";

const PAGE_SIZE = 20;
const COUNTS = [
  ["Passed", "passed"],
  ["Failed", "failed"],
  ["Errored", "errored"],
  ["Total", "total"],
];
const NOTHING_GRADED = { passed: 0, failed: 0 };

/** Each run with its letter: A for the first, B for the second… */
function lettered(runs) {
  return runs.map((run, index) => ({ run, letter: String.fromCharCode(65 + index) }));
}

function allRuns(count) {
  return count === 2 ? "both runs" : `all ${count} runs`;
}

function changeLabel(side) {
  return `${side.letter} − A`;
}

function countChange(before, after) {
  const change = after - before;
  return `${change > 0 ? "+" : change < 0 ? "−" : "±"}${integer(Math.abs(change))}`;
}

function runColumnLabel(side) {
  return h(
    "span",
    { class: "run-label" },
    `${side.letter}: ${side.run.name}`,
    h("span", { class: "muted" }, ` ${side.run.id}`),
  );
}

/** A row of the totals: each run's value, then how each later run's differs from A's. */
function totalsRow(label, values, show, change) {
  return h(
    "tr",
    {},
    h("th", { scope: "row" }, label),
    values.map((value) => h("td", { class: "number" }, show(value))),
    values.slice(1).map((value) => h("td", { class: "number nowrap" }, change(values[0], value))),
  );
}

function countsTable(sides) {
  const runs = sides.map((side) => side.run);
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { id: "compare-totals" },
      h("caption", { class: "visually-hidden" }, `Totals of ${allRuns(sides.length)}`),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "Result"),
          sides.map((side) => h("th", { scope: "col", class: "number" }, runColumnLabel(side))),
          sides.slice(1).map((side) => h("th", { scope: "col", class: "number" }, changeLabel(side))),
        ),
      ),
      h(
        "tbody",
        {},
        COUNTS.map(([label, key]) =>
          totalsRow(
            label,
            runs.map((run) => run.result_counts[key]),
            integer,
            countChange,
          ),
        ),
        totalsRow("Pass rate", runs.map(runPassRate), percent, pointsChange),
      ),
    ),
  );
}

function criteriaTable(evaluation, sides) {
  const perRun = sides.map((side) => criterionResults(evaluation, side.run));
  const byCriterion = perRun.map((results) => new Map(results.map((row) => [row.criterion, row.result])));
  const rows = perRun[0].map((row) => ({
    name: row.name,
    results: byCriterion.map((results) => results.get(row.criterion) ?? NOTHING_GRADED),
  }));
  const rate = (result) => passRate(result.passed, result.failed);
  const counted = (result) => `${integer(result.passed)} of ${integer(result.passed + result.failed)}`;
  return table({
    caption: `Pass rate per criterion in ${allRuns(sides.length)}`,
    empty: "This eval has no testing criteria.",
    rows,
    columns: [
      { label: "Criterion", cell: (row) => row.name },
      ...sides.map((side, index) => ({
        label: side.letter,
        class: "number",
        cell: (row) => {
          const result = row.results[index];
          return [rateCell(result.passed, result.failed), h("div", { class: "muted" }, counted(result))];
        },
      })),
      ...sides.slice(1).map((side, index) => ({
        label: changeLabel(side),
        class: "number nowrap",
        cell: (row) => pointsChange(rate(row.results[0]), rate(row.results[index + 1])),
      })),
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

/** Rows of matched items: one per data source item that any run graded, in item order, with each
 *  run's item (or null) in the runs' order. */
function matchItems(itemsOfRuns) {
  const rows = new Map();
  itemsOfRuns.forEach((items, index) => {
    for (const item of items) {
      const id = item.datasource_item_id;
      if (!rows.has(id)) rows.set(id, { id, items: itemsOfRuns.map(() => null) });
      rows.get(id).items[index] = item;
    }
  });
  return [...rows.values()].sort((a, b) => a.id - b.id);
}

function differs(row) {
  return new Set(row.items.map((item) => item?.status)).size > 1;
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
  const results = h("div", { class: "items", "aria-busy": "true" }, loading("Loading items of the runs"));
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
  let sides = [];

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
        caption: `Items of ${allRuns(sides.length)}`,
        empty: filter.value === "differ" ? "The runs agree on every item." : "No items yet.",
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
            cell: (row) => itemFields(row.items.find(Boolean).datasource_item),
          },
          ...sides.map((side, index) => ({
            label: `${side.letter}: ${side.run.name}`,
            class: "text side-cell",
            cell: (row) => sideCell(row.items[index], nameOf),
          })),
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

  function show(itemsOfRuns, shownSides) {
    rows = matchItems(itemsOfRuns);
    sides = shownSides;
    // The runs share the width the item and its fields leave them.
    results.style.setProperty("--sides", sides.length);
    draw();
    results.setAttribute("aria-busy", "false");
  }
  function fail(error) {
    replace(results, errorNotice(error));
  }
  return { element, show, fail };
}

function runCard(side) {
  const key = `run-${side.letter.toLowerCase()}`;
  return h(
    "div",
    { class: "card run-side", id: key },
    h("p", { class: "side-letter", "aria-hidden": "true" }, side.letter),
    h(
      "div",
      { class: "run-heading-body" },
      runHeading(side.run, `${key}-title`, `Run ${side.letter}`),
      runError(side.run),
    ),
  );
}

/** The runs' report; `update(...runs)` redraws what changed and reads their items again. */
export function compareReport(evaluation, nameOf, signal) {
  const headings = h("div", { class: "compare-headings" }, loading("Loading runs"));
  const summary = h("div", { class: "compare-summary" });
  const items = matchedItems(nameOf);
  const element = h(
    "section",
    { class: "run-report compare", "aria-labelledby": "compare-title" },
    h("h2", { id: "compare-title", class: "visually-hidden" }, "Runs compared"),
    headings,
    summary,
    items.element,
  );
  let shown = "";
  let asked = 0;

  async function loadItems(sides) {
    const ticket = ++asked;
    try {
      const itemsOfRuns = await Promise.all(
        sides.map((side) =>
          listAll(evalPath(evaluation.id, "runs", side.run.id, "output_items"), { order: "asc" }),
        ),
      );
      if (signal.aborted || ticket !== asked) return;
      items.show(itemsOfRuns, sides);
    } catch (error) {
      if (!signal.aborted && ticket === asked) items.fail(error);
    }
  }

  function update(...runs) {
    const snapshot = JSON.stringify(runs);
    if (snapshot === shown) return;
    shown = snapshot;
    const sides = lettered(runs);
    replace(headings, sides.map(runCard));
    // Beyond two runs the tables are too wide to share a row.
    const columns = sides.length > 2 ? "eval-columns stacked" : "eval-columns";
    replace(
      summary,
      h(
        "div",
        { class: columns },
        h(
          "section",
          { class: "card", "aria-labelledby": "compare-totals-title" },
          h("h3", { id: "compare-totals-title" }, "Totals"),
          countsTable(sides),
        ),
        h(
          "section",
          { class: "card", "aria-labelledby": "compare-criteria-title" },
          h("h3", { id: "compare-criteria-title" }, "Pass rate per criterion"),
          criteriaTable(evaluation, sides),
        ),
      ),
    );
    loadItems(sides);
  }
  return { element, update };
}
