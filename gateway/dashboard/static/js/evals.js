// Evals, their runs and output items from the /v1/evals API, and the numbers drawn from them.
import { query, request } from "./api.js";

export const ACTIVE_RUN_STATUSES = new Set(["queued", "in_progress"]);
const SCAN_SIZE = 100;

export function evalPath(evalId, ...rest) {
  return ["/evals", evalId, ...rest]
    .map((part, index) => (index ? encodeURIComponent(part) : part))
    .join("/");
}

/** Every object of a list endpoint, following `has_more` with `after` cursors. */
export async function listAll(path, params = {}) {
  const found = [];
  let after;
  for (;;) {
    const page = await request(`${path}${query({ ...params, limit: SCAN_SIZE, after })}`);
    found.push(...page.data);
    if (!page.has_more || page.data.length === 0) return found;
    after = page.data[page.data.length - 1].id;
  }
}

/** The eval's runs, newest first. */
export function listRuns(evalId) {
  return listAll(evalPath(evalId, "runs"), { order: "desc" });
}

export function isActive(run) {
  return ACTIVE_RUN_STATUSES.has(run.status);
}

/** Runs and output items name a criterion by its id ("{name}-{uuid}"); this reads it as its name. */
export function criterionNamer(evaluation) {
  const names = new Map();
  for (const criterion of evaluation.testing_criteria) {
    names.set(criterion.name, criterion.name);
    if (criterion.id) names.set(criterion.id, criterion.name);
  }
  return (reference) => names.get(reference) ?? reference;
}

/** passed / (passed + failed), or null when nothing was graded. */
export function passRate(passed, failed) {
  const graded = passed + failed;
  return graded ? passed / graded : null;
}

export function runPassRate(run) {
  const { passed, total } = run.result_counts;
  return total ? passed / total : null;
}

/** Each criterion of the eval with the run's counts for it, in the eval's order; criteria the
 *  run reports that the eval no longer names come last. */
export function criterionResults(evaluation, run) {
  const byReference = new Map(
    (run.per_testing_criteria_results ?? []).map((result) => [result.testing_criteria, result]),
  );
  const rows = evaluation.testing_criteria.map((criterion) => {
    const result = byReference.get(criterion.id) ?? byReference.get(criterion.name);
    byReference.delete(criterion.id);
    byReference.delete(criterion.name);
    return { criterion: criterion.id ?? criterion.name, name: criterion.name, result };
  });
  for (const [reference, result] of byReference) rows.push({ criterion: reference, name: reference, result });
  return rows;
}

/** The text a sample's model (or the jsonl file) answered. */
export function outputText(sample) {
  return (sample?.output ?? []).map((message) => message.content ?? "").join("\n\n");
}

/** A one-line account of how a criterion grades, from its definition. */
export function criterionSummary(criterion) {
  switch (criterion.type) {
    case "string_check":
      return `${criterion.input} ${criterion.operation} ${criterion.reference}`;
    case "text_similarity":
      return `${criterion.evaluation_metric} of ${criterion.input} and ${criterion.reference} ≥ ${criterion.pass_threshold}`;
    case "python":
      return criterion.pass_threshold === undefined
        ? "Python grader"
        : `Python grader, passes at ≥ ${criterion.pass_threshold}`;
    case "score_model":
      return criterion.pass_threshold === undefined
        ? `Scored by ${criterion.model}`
        : `Scored by ${criterion.model}, passes at ≥ ${criterion.pass_threshold}`;
    case "label_model":
      return `Labelled by ${criterion.model}; passing labels: ${(criterion.passing_labels ?? []).join(", ")}`;
    default:
      return "—";
  }
}
