// The project's fine-tuning jobs, newest first, filtered by status, paged with `after` cursors.
import { query, request } from "../api.js";
import { trainingCost, trainingPrice } from "../catalog.js";
import { h, replace, table } from "../dom.js";
import { TERMINAL_STATUSES, dateTime, duration, integer, jobDuration, statusLabel, usd } from "../format.js";
import { code, cursorPager, errorNotice, loading, pageHeader, statusBadge } from "../widgets.js";

const PAGE_SIZE = 20;
const SCAN_SIZE = 100;
const REFRESH_MS = 2000;
const STATUSES = ["validating_files", "queued", "running", "paused", "succeeded", "failed", "cancelled"];

/** One page of jobs with `status` (any when empty), starting after the job id `after`.
 *  The API has no status filter, so a filtered page reads on until it is full. */
async function jobsPage(after, status) {
  const jobs = [];
  let cursor = after;
  for (;;) {
    const page = await request(
      `/fine_tuning/jobs${query({ limit: status ? SCAN_SIZE : PAGE_SIZE, after: cursor })}`,
    );
    for (const [index, job] of page.data.entries()) {
      cursor = job.id;
      if (status && job.status !== status) continue;
      jobs.push(job);
      if (jobs.length === PAGE_SIZE) {
        const more = index < page.data.length - 1 || page.has_more;
        return { jobs, next: more ? cursor : null };
      }
    }
    if (!page.has_more) return { jobs, next: null };
  }
}

function costCell(job) {
  const cell = h("span", {}, "—");
  if (job.trained_tokens !== null) {
    trainingPrice(job.model, job.training_file).then((price) => {
      cell.textContent = usd(trainingCost(job.trained_tokens, price));
    });
  }
  return cell;
}

const COLUMNS = [
  { label: "Job", cell: (job) => h("a", { href: `jobs/${job.id}` }, code(job.id)) },
  { label: "Status", cell: (job) => statusBadge(job.status) },
  { label: "Base model", cell: (job) => job.model },
  { label: "Suffix", cell: (job) => job.user_provided_suffix ?? "—" },
  { label: "Created", cell: (job) => dateTime(job.created_at) },
  { label: "Duration", class: "number", cell: (job) => duration(jobDuration(job)) },
  { label: "Trained tokens", class: "number", cell: (job) => integer(job.trained_tokens) },
  { label: "Cost", class: "number", cell: costCell },
];

export function render(view, { query: search, signal, navigate, setTitle }) {
  setTitle("Jobs");
  const status = search.get("status") ?? "";
  const filter = h(
    "select",
    { id: "status-filter", name: "status" },
    h("option", { value: "" }, "All statuses"),
    STATUSES.map((value) => h("option", { value, selected: value === status }, statusLabel(value))),
  );
  filter.addEventListener("change", () => navigate(filter.value ? `jobs?status=${filter.value}` : "jobs"));

  const results = h("div", { "aria-busy": "true" }, loading("Loading jobs"));
  const pager = cursorPager(() => load());
  view.append(
    pageHeader("Fine-tuning jobs", h("a", { class: "button primary", href: "files" }, "New job")),
    h(
      "div",
      { class: "toolbar" },
      h("label", { for: "status-filter" }, "Status"),
      filter,
      pager.element,
    ),
    results,
  );

  let shown = "";
  let timer = null;

  async function load() {
    clearTimeout(timer);
    try {
      const page = await jobsPage(pager.after, status);
      if (signal.aborted) return;
      const snapshot = JSON.stringify(page.jobs);
      if (snapshot !== shown) {
        shown = snapshot;
        const empty = status
          ? `No ${statusLabel(status)} jobs.`
          : h(
              "span",
              {},
              "No jobs yet. ",
              h("a", { href: "files" }, "Upload a training file"),
              " to start one.",
            );
        replace(results, table({ caption: "Fine-tuning jobs", columns: COLUMNS, rows: page.jobs, empty }));
      }
      results.setAttribute("aria-busy", "false");
      pager.shown(page.next);
      if (page.jobs.some((job) => !TERMINAL_STATUSES.has(job.status))) timer = setTimeout(load, REFRESH_MS);
    } catch (error) {
      if (!signal.aborted) replace(results, errorNotice(error));
    }
  }

  signal.addEventListener("abort", () => clearTimeout(timer));
  load();
}
