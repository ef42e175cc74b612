// Usage over time by project, key or model: trained tokens, chat tokens and cost per day, the
// totals per group, and the same report as CSV.
import { adminDownload, adminRequest, listProjects } from "../admin_api.js";
import { usageChart } from "../admin_charts.js";
import { dayStart, daysAgo, projectPicker } from "../admin_widgets.js";
import { h, replace, table } from "../dom.js";
import { integer, usd } from "../format.js";
import { errorNotice, loading, pageHeader } from "../widgets.js";

const GROUPINGS = [
  ["project", "Project", "project"],
  ["key", "API key", "API key"],
  ["model", "Model", "model"],
];
const DEFAULT_DAYS = 30;

/** Every UTC day from `from` to `to`, both included, as yyyy-mm-dd. */
function daysBetween(from, to) {
  const days = [];
  for (let t = dayStart(from); t <= dayStart(to); t += 86400)
    days.push(new Date(t * 1000).toISOString().slice(0, 10));
  return days;
}

function usageQuery({ by, project, from, to }, format) {
  const params = new URLSearchParams({ group_by: by === "key" ? "project,key,day" : `${by},day`, format });
  if (project) params.set("project_id", project);
  params.set("start_time", String(dayStart(from)));
  params.set("end_time", String(dayStart(to) + 86400));
  return `/usage?${params}`;
}

/** Names for the groups: project names, "project / key name", model ids. */
async function groupNamer(by, rows, projects) {
  const projectName = new Map(projects.map((project) => [project.id, project.name]));
  if (by === "project") return (row) => projectName.get(row.project_id) ?? row.project_id ?? "—";
  if (by === "model") return (row) => row.model ?? "—";
  const keyName = new Map();
  const projectIds = [...new Set(rows.map((row) => row.project_id))];
  const lists = await Promise.all(projectIds.map((id) => adminRequest(`/projects/${id}/keys`)));
  for (const key of lists.flatMap((list) => list.data)) keyName.set(key.id, key.name ?? key.redacted_value);
  return (row) =>
    row.key_id === null
      ? `${projectName.get(row.project_id)} / (the operator)`
      : `${projectName.get(row.project_id) ?? row.project_id} / ${keyName.get(row.key_id) ?? row.key_id}`;
}

function totalsTable(series, label) {
  const sum = (rows, field) => rows.reduce((total, row) => total + row[field], 0);
  return table({
    caption: "Totals",
    empty: "No usage in this range.",
    rows: series,
    columns: [
      { label, cell: (group) => group.name },
      { label: "Jobs", class: "number", cell: (group) => integer(sum(group.rows, "jobs")) },
      {
        label: "Trained tokens",
        class: "number",
        cell: (group) => integer(sum(group.rows, "trained_tokens")),
      },
      { label: "Chat requests", class: "number", cell: (group) => integer(sum(group.rows, "chat_requests")) },
      {
        label: "Chat tokens",
        class: "number",
        cell: (group) =>
          integer(sum(group.rows, "chat_prompt_tokens") + sum(group.rows, "chat_completion_tokens")),
      },
      { label: "Reserved", class: "number", cell: (group) => usd(sum(group.rows, "reserved_usd")) },
      { label: "Cost", class: "number", cell: (group) => usd(sum(group.rows, "cost_usd")) },
    ],
  });
}

export function render(view, { query: search, signal, navigate, setTitle }) {
  setTitle("Usage");
  const choice = {
    project: search.get("project") ?? "",
    by: GROUPINGS.some(([value]) => value === search.get("by")) ? search.get("by") : "project",
    from: search.get("from") || daysAgo(DEFAULT_DAYS - 1),
    to: search.get("to") || daysAgo(0),
  };
  const go = (changes) => {
    const next = { ...choice, ...changes };
    const params = new URLSearchParams({ by: next.by, from: next.from, to: next.to });
    if (next.project) params.set("project", next.project);
    navigate(`admin/usage?${params}`, { replace: true });
  };

  const by = h(
    "select",
    { id: "usage-by", name: "by" },
    GROUPINGS.map(([value, label]) => h("option", { value, selected: value === choice.by }, label)),
  );
  by.addEventListener("change", () => go({ by: by.value }));
  const dateField = (name, label) => {
    const input = h("input", {
      id: `usage-${name}`,
      name,
      type: "date",
      value: choice[name],
      max: daysAgo(0),
    });
    input.addEventListener("change", () => input.value && go({ [name]: input.value }));
    return h("div", { class: "field inline-field" }, h("label", { for: `usage-${name}` }, label), input);
  };
  const exportButton = h("button", { type: "button", class: "button" }, "Export CSV");
  exportButton.addEventListener("click", () =>
    adminDownload(usageQuery(choice, "csv"), `ftgate-usage-${choice.from}-to-${choice.to}.csv`).catch(
      (error) => results.prepend(errorNotice(error)),
    ),
  );
  const pickerSlot = h("div", {});
  const results = h("div", { class: "usage-results", "aria-busy": "true" }, loading("Loading usage"));
  view.append(
    pageHeader("Usage", exportButton),
    h(
      "div",
      { class: "filters", role: "group", "aria-label": "Usage filters" },
      pickerSlot,
      h("div", { class: "field inline-field" }, h("label", { for: "usage-by" }, "Group by"), by),
      dateField("from", "From"),
      dateField("to", "To"),
    ),
    results,
  );

  const charts = [];
  signal.addEventListener("abort", () => charts.forEach((chart) => chart.destroy()));

  (async () => {
    const projects = await listProjects();
    if (signal.aborted) return;
    replace(
      pickerSlot,
      projectPicker(projects, choice.project, (project) => go({ project }), { allLabel: "All projects" }),
    );
    const rows = (await adminRequest(usageQuery(choice, "json"))).data;
    const name = await groupNamer(choice.by, rows, projects);
    if (signal.aborted) return;
    const groups = new Map();
    for (const row of rows) {
      const group = name(row);
      if (!groups.has(group)) groups.set(group, { name: group, rows: [] });
      groups.get(group).rows.push(row);
    }
    const series = [...groups.values()];
    const days = daysBetween(choice.from, choice.to);
    const [, label, noun] = GROUPINGS.find(([value]) => value === choice.by);
    for (const spec of [
      {
        id: "chart-trained-tokens",
        title: "Trained tokens",
        value: (row) => row.trained_tokens,
        format: integer,
        whole: true,
      },
      {
        id: "chart-chat-tokens",
        title: "Chat tokens",
        value: (row) => row.chat_prompt_tokens + row.chat_completion_tokens,
        format: integer,
        whole: true,
      },
      { id: "chart-cost", title: "Cost (USD)", value: (row) => row.cost_usd, format: usd },
    ]) {
      charts.push(usageChart({ ...spec, days, series }));
    }
    replace(
      results,
      h(
        "div",
        { class: "usage-charts" },
        charts.map((chart) => chart.figure),
      ),
      h(
        "section",
        { "aria-labelledby": "totals-title" },
        h("h2", { id: "totals-title" }, `Totals by ${noun}`),
        totalsTable(series, label),
      ),
      h(
        "p",
        { class: "hint" },
        "Jobs count on the day they were created, at what they trained once finished; unfinished jobs show " +
          "what they hold in reserve. Days are UTC.",
      ),
    );
    results.setAttribute("aria-busy", "false");
  })().catch((error) => signal.aborted || replace(results, errorNotice(error)));
}
