// The project's fine-tuning jobs, newest first, paged with `after` cursors, filtered by status, by
// text (model, fine-tuned model, suffix, job id) and by metadata (`key=value`, which the API filters).
import { query, request } from "../api.js";
import { trainingCost, trainingPrice } from "../catalog.js";
import { h, replace, table } from "../dom.js";
import { TERMINAL_STATUSES, dateTime, duration, integer, jobDuration, statusLabel, usd } from "../format.js";
import { code, cursorPager, errorNotice, loading, modelName, pageHeader, statusBadge } from "../widgets.js";

const PAGE_SIZE = 20;
const SCAN_SIZE = 100;
const REFRESH_MS = 2000;
const STATUSES = ["validating_files", "queued", "running", "paused", "succeeded", "failed", "cancelled"];

/** `team=nlp, run=3` → {team: "nlp", run: "3"}; null when a pair has no `=` or no key. */
function parseMetadata(text) {
  const pairs = {};
  for (const part of text.split(",")) {
    if (!part.trim()) continue;
    const at = part.indexOf("=");
    if (at <= 0 || !part.slice(0, at).trim()) return null;
    pairs[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return pairs;
}

function matches(job, { status, text }) {
  if (status && job.status !== status) return false;
  if (!text) return true;
  const haystack = [
    job.id,
    job.model,
    job.fine_tuned_model,
    job.user_provided_suffix,
    ...Object.values(job.metadata ?? {}),
  ];
  return haystack.some((value) => value && value.toLowerCase().includes(text));
}

/** One page of the jobs that match `filters`, starting after the job id `after`. The API filters
 *  by metadata only, so a page filtered otherwise reads on until it is full. */
async function jobsPage(after, filters) {
  const scanning = Boolean(filters.status || filters.text);
  const metadata = Object.fromEntries(
    Object.entries(filters.metadata).map(([key, value]) => [`metadata[${key}]`, value]),
  );
  const jobs = [];
  let cursor = after;
  for (;;) {
    const page = await request(
      `/fine_tuning/jobs${query({ limit: scanning ? SCAN_SIZE : PAGE_SIZE, after: cursor, ...metadata })}`,
    );
    for (const [index, job] of page.data.entries()) {
      cursor = job.id;
      if (!matches(job, filters)) continue;
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
  {
    label: "Fine-tuned model",
    class: "model-cell",
    cell: (job) => (job.fine_tuned_model ? modelName(job.fine_tuned_model) : "—"),
  },
  { label: "Suffix", cell: (job) => job.user_provided_suffix ?? "—" },
  { label: "Created", cell: (job) => dateTime(job.created_at) },
  { label: "Duration", class: "number", cell: (job) => duration(jobDuration(job)) },
  { label: "Trained tokens", class: "number", cell: (job) => integer(job.trained_tokens) },
  { label: "Cost", class: "number", cell: costCell },
];

export function render(view, { query: search, signal, navigate, setTitle }) {
  setTitle("Jobs");
  const status = search.get("status") ?? "";
  const text = search.get("q") ?? "";
  const metadataText = search.get("metadata") ?? "";
  const metadata = parseMetadata(metadataText);
  const filters = { status, text: text.trim().toLowerCase(), metadata: metadata ?? {} };

  const statusFilter = h(
    "select",
    { id: "status-filter", name: "status" },
    h("option", { value: "" }, "All statuses"),
    STATUSES.map((value) => h("option", { value, selected: value === status }, statusLabel(value))),
  );
  const textFilter = h("input", {
    id: "job-search",
    name: "q",
    type: "search",
    value: text,
    placeholder: "Model, suffix or job id",
    autocomplete: "off",
  });
  const metadataFilter = h("input", {
    id: "metadata-filter",
    name: "metadata",
    type: "search",
    value: metadataText,
    placeholder: "key=value, …",
    autocomplete: "off",
    "aria-describedby": metadata ? null : "metadata-filter-error",
    "aria-invalid": metadata ? null : "true",
  });
  const form = h(
    "form",
    { class: "job-filters", role: "search", "aria-label": "Filter jobs" },
    h("div", { class: "field" }, h("label", { for: "status-filter" }, "Status"), statusFilter),
    h("div", { class: "field" }, h("label", { for: "job-search" }, "Search"), textFilter),
    h(
      "div",
      { class: "field" },
      h("label", { for: "metadata-filter" }, "Metadata"),
      metadataFilter,
      metadata
        ? null
        : h(
            "p",
            { class: "field-error", id: "metadata-filter-error" },
            "Write metadata as key=value, pairs separated by commas.",
          ),
    ),
    h("button", { type: "submit", class: "button" }, "Filter"),
  );
  const apply = () => {
    const params = new URLSearchParams();
    if (statusFilter.value) params.set("status", statusFilter.value);
    if (textFilter.value.trim()) params.set("q", textFilter.value.trim());
    if (metadataFilter.value.trim()) params.set("metadata", metadataFilter.value.trim());
    navigate(params.size ? `jobs?${params}` : "jobs");
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });
  statusFilter.addEventListener("change", apply);

  const results = h("div", { "aria-busy": "true" }, loading("Loading jobs"));
  const pager = cursorPager(() => load());
  view.append(
    pageHeader("Fine-tuning jobs", h("a", { class: "button primary", href: "jobs/new" }, "New job")),
    h("div", { class: "toolbar jobs-toolbar" }, form, pager.element),
    results,
  );
  const filtered = Boolean(status || text || metadataText);

  let shown = "";
  let timer = null;

  async function load() {
    clearTimeout(timer);
    if (!metadata) {
      replace(results);
      return;
    }
    try {
      const page = await jobsPage(pager.after, filters);
      if (signal.aborted) return;
      const snapshot = JSON.stringify(page.jobs);
      if (snapshot !== shown) {
        shown = snapshot;
        const empty = filtered
          ? status && !text && !metadataText
            ? `No ${statusLabel(status)} jobs.`
            : "No jobs match these filters."
          : h(
              "span",
              {},
              "No jobs yet. ",
              h("a", { href: "files" }, "Upload a training file"),
              " and ",
              h("a", { href: "jobs/new" }, "start one"),
              ".",
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
