// The parts of an eval's page that both its one-run report and its comparison of runs show.
import { h, table } from "../dom.js";
import { dateTime, integer, percent, score } from "../format.js";
import { criterionSummary, outputText, runPassRate } from "../evals.js";
import { code, statusBadge } from "../widgets.js";

export function criteriaTable(evaluation) {
  return table({
    caption: "Testing criteria",
    empty: "This eval has no testing criteria.",
    rows: evaluation.testing_criteria,
    columns: [
      { label: "Criterion", cell: (criterion) => criterion.name },
      { label: "Type", class: "nowrap", cell: (criterion) => h("code", {}, criterion.type) },
      {
        label: "Passes when",
        cell: (criterion) => h("span", { class: "summary" }, criterionSummary(criterion)),
      },
    ],
  });
}

/** `evals/{id}?run_id=…[&compare=…]…`, the page's own address for a choice of runs. */
export function reportHref(evalId, runId, compareIds = []) {
  const search = new URLSearchParams({ run_id: runId });
  for (const compareId of compareIds) search.append("compare", compareId);
  return `evals/${evalId}?${search}`;
}

export function passedOfTotal(run) {
  const { passed, total } = run.result_counts;
  return `${integer(passed)} / ${integer(total)}`;
}

/** The eval's runs to pick from: the shown run (and those it is compared with) marked. */
export function runsTable(evalId, runs, shownId, comparedIds) {
  return table({
    caption: "Runs",
    empty: "No runs yet. Start one with client.evals.runs.create(…).",
    rows: runs,
    columns: [
      {
        label: "Run",
        cell: (run) => [
          h(
            "a",
            { href: reportHref(evalId, run.id), "aria-current": run.id === shownId ? "true" : false },
            run.name,
          ),
          comparedIds.includes(run.id) ? h("span", { class: "badge compared" }, "compared") : null,
          h("div", {}, code(run.id)),
        ],
      },
      { label: "Status", cell: (run) => statusBadge(run.status) },
      { label: "Model", cell: (run) => run.model || "—" },
      {
        label: "Passed",
        class: "number nowrap",
        cell: (run) => [passedOfTotal(run), h("div", { class: "muted" }, percent(runPassRate(run)))],
      },
      { label: "Created", cell: (run) => dateTime(run.created_at) },
    ],
  });
}

/** The "Compare with" control: every other run of the eval, or none; choosing one compares the
 *  shown run with that run alone. `onChoose` gets the ids to compare with. */
export function compareControl(runs, shownId, comparedIds, onChoose) {
  const several = comparedIds.length > 1;
  const select = h(
    "select",
    { id: "compare-run", name: "compare" },
    h("option", { value: "" }, "No other run"),
    several ? h("option", { value: "", selected: true, disabled: true }, `${comparedIds.length} runs`) : null,
    runs
      .filter((run) => run.id !== shownId)
      .map((run) =>
        h(
          "option",
          { value: run.id, selected: !several && comparedIds.includes(run.id) },
          `${run.name} (${run.id})`,
        ),
      ),
  );
  select.addEventListener("change", () => onChoose(select.value ? [select.value] : []));
  return h(
    "div",
    { class: "toolbar compare-control" },
    h("label", { for: "compare-run" }, "Compare with"),
    select,
  );
}

/** An item's fields: strings as they are, anything else as JSON. */
export function itemFields(item) {
  const entries = Object.entries(item ?? {});
  if (!entries.length) return h("span", { class: "muted" }, "—");
  return h(
    "dl",
    { class: "item-fields" },
    entries.map(([key, value]) =>
      h("div", {}, h("dt", {}, key), h("dd", {}, typeof value === "string" ? value : JSON.stringify(value))),
    ),
  );
}

export function sampleInput(sample) {
  const messages = sample?.input ?? [];
  if (!messages.length) return h("span", { class: "muted" }, "—");
  return h(
    "ol",
    { class: "plain messages" },
    messages.map((message) =>
      h("li", {}, h("span", { class: "role" }, message.role), h("span", { class: "text" }, message.content)),
    ),
  );
}

export function sampleOutput(sample) {
  if (sample?.error) {
    return h("p", { class: "sample-error" }, `${sample.error.code}: ${sample.error.message}`);
  }
  const text = outputText(sample);
  return text ? h("div", { class: "output-text" }, text) : h("span", { class: "muted" }, "(no output)");
}

export function resultBadge(status) {
  return h("span", { class: `badge status-${status}` }, status === "pass" ? "pass" : "fail");
}

/** Each grader's score and verdict for one item. */
export function graderResults(results, nameOf) {
  if (!results.length) return h("span", { class: "muted" }, "—");
  return h(
    "ul",
    { class: "plain grader-results" },
    results.map((result) =>
      h(
        "li",
        { class: result.passed ? "passed" : "failed" },
        h("span", { class: "grader-name" }, nameOf(result.name)),
        h("span", { class: "grader-score" }, score(result.score)),
        h("span", { class: "grader-verdict" }, result.passed ? "passed" : "failed"),
      ),
    ),
  );
}
