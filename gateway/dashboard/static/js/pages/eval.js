// One eval: its criteria, its runs, and the report of one run (`?run_id=`) or of several runs side
// by side (`?run_id=A&compare=B&compare=C…`). `evals/{eval_id}?run_id={run_id}` is each run's
// `report_url`.
// While a shown run (or any run of the list) is queued or in progress, the page reads it again.
import { request } from "../api.js";
import { h, replace } from "../dom.js";
import { criterionNamer, evalPath, isActive, listRuns } from "../evals.js";
import { code, errorNotice, loading } from "../widgets.js";
import { compareReport } from "./eval_compare.js";
import { runReport } from "./eval_run.js";
import { compareControl, criteriaTable, reportHref, runsTable } from "./eval_sections.js";

const POLL_MS = 2000;

function notFound(view, title, message) {
  replace(
    view,
    h("h1", { tabindex: "-1" }, title),
    h("p", {}, message, " ", h("a", { href: "evals" }, "Back to evals")),
  );
}

export async function render(view, { params, query: search, signal, navigate, setTitle }) {
  const { evalId } = params;
  setTitle(evalId);
  view.append(h("h1", { tabindex: "-1", class: "visually-hidden" }, "Eval"), loading("Loading eval"));

  let evaluation, runs;
  try {
    [evaluation, runs] = await Promise.all([request(evalPath(evalId)), listRuns(evalId)]);
  } catch (error) {
    if (signal.aborted) return;
    if (error.status === 404) notFound(view, "Eval not found", `This project has no eval ${evalId}.`);
    else replace(view, errorNotice(error));
    return;
  }
  if (signal.aborted) return;
  setTitle(evaluation.name);
  const nameOf = criterionNamer(evaluation);
  const shownId = search.get("run_id") || runs[0]?.id;
  const comparedIds = shownId
    ? [...new Set(search.getAll("compare"))].filter((runId) => runId && runId !== shownId)
    : [];
  const comparing = comparedIds.length > 0;

  const runsSlot = h("div", { class: "runs-slot" });
  const controlSlot = h("div", { class: "control-slot" });
  const report = shownId
    ? comparing
      ? compareReport(evaluation, nameOf, signal)
      : runReport(evaluation, shownId, nameOf, signal)
    : null;
  const reportSlot = h("div", { class: "report-slot" }, report?.element);
  replace(
    view,
    h(
      "div",
      { class: "page-header" },
      h(
        "div",
        {},
        h("p", { class: "crumbs" }, h("a", { href: "evals" }, "Evals"), " / ", code(evaluation.id)),
        h("h1", { tabindex: "-1" }, evaluation.name),
      ),
      h(
        "div",
        { class: "actions" },
        h("a", { class: "button primary", href: `evals/${evalId}/runs/new` }, "New run"),
      ),
    ),
    h(
      "div",
      { class: "eval-overview" },
      h(
        "section",
        { class: "card", "aria-labelledby": "criteria-title" },
        h("h2", { id: "criteria-title" }, "Testing criteria"),
        criteriaTable(evaluation),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "runs-title" },
        h("div", { class: "section-header" }, h("h2", { id: "runs-title" }, "Runs"), controlSlot),
        h("div", { class: "runs-scroll" }, runsSlot),
      ),
    ),
    reportSlot,
  );

  const choose = (compareIds) => navigate(reportHref(evalId, shownId, compareIds));
  let shownRuns = "";
  let shownChoices = "";
  function showRuns(list) {
    const snapshot = JSON.stringify(list);
    if (snapshot !== shownRuns) {
      shownRuns = snapshot;
      replace(runsSlot, runsTable(evalId, list, shownId, comparedIds));
    }
    // The control is drawn again only when the choice of runs changes, not while one is picked.
    const choices = JSON.stringify(list.map((run) => [run.id, run.name]));
    if (shownId && choices !== shownChoices) {
      shownChoices = choices;
      replace(controlSlot, compareControl(list, shownId, comparedIds, choose));
    }
  }

  let timer = null;
  let listed = runs; // the first read uses the list just loaded
  async function poll() {
    clearTimeout(timer);
    const wanted = shownId ? [shownId, ...comparedIds] : [];
    let list, shown;
    try {
      [list, ...shown] = await Promise.all([
        listed ?? listRuns(evalId),
        ...wanted.map((runId) => request(evalPath(evalId, "runs", runId))),
      ]);
    } catch (error) {
      if (signal.aborted) return;
      if (error.status === 404) {
        showRuns(runs);
        replace(reportSlot, errorNotice(new Error(`This eval has no run ${wanted.join(" or ")}.`)));
        return;
      }
      replace(reportSlot, errorNotice(error), report?.element);
      timer = setTimeout(poll, POLL_MS * 5);
      return;
    }
    listed = null;
    if (signal.aborted) return;
    showRuns(list);
    if (report) {
      if (reportSlot.firstChild !== report.element) replace(reportSlot, report.element);
      report.update(...shown);
    }
    if (list.some(isActive) || shown.some(isActive)) timer = setTimeout(poll, POLL_MS);
  }

  signal.addEventListener("abort", () => clearTimeout(timer));
  poll();
}
