// The project's evals, newest first, paged with `after` cursors.
import { query, request } from "../api.js";
import { h, replace, table } from "../dom.js";
import { dateTime, integer } from "../format.js";
import { code, errorNotice, loading, pageHeader } from "../widgets.js";

const PAGE_SIZE = 20;

const COLUMNS = [
  { label: "Name", cell: (evaluation) => h("a", { href: `evals/${evaluation.id}` }, evaluation.name) },
  { label: "ID", cell: (evaluation) => code(evaluation.id) },
  { label: "Created", cell: (evaluation) => dateTime(evaluation.created_at) },
  { label: "Criteria", class: "number", cell: (evaluation) => integer(evaluation.testing_criteria.length) },
];

export function render(view, { signal, setTitle }) {
  setTitle("Evals");
  const results = h("div", { "aria-busy": "true" }, loading("Loading evals"));
  const newer = h("button", { type: "button", class: "button", disabled: true }, "← Newer");
  const older = h("button", { type: "button", class: "button", disabled: true }, "Older →");
  const pageLabel = h("span", { class: "muted" });
  view.append(
    pageHeader("Evals"),
    h(
      "div",
      { class: "toolbar" },
      h("p", { class: "lede" }, "Each eval grades its runs' samples by the same testing criteria."),
      h("nav", { class: "pager", "aria-label": "Pages" }, newer, pageLabel, older),
    ),
    results,
  );

  const cursors = [undefined];
  let index = 0;
  let next = null;

  async function load() {
    results.setAttribute("aria-busy", "true");
    try {
      const page = await request(
        `/evals${query({ limit: PAGE_SIZE, after: cursors[index], order: "desc" })}`,
      );
      if (signal.aborted) return;
      next = page.has_more && page.data.length ? page.data[page.data.length - 1].id : null;
      const empty = h(
        "span",
        {},
        "No evals yet. Create one with ",
        h("code", {}, "client.evals.create(…)"),
        " and start a run with ",
        h("code", {}, "client.evals.runs.create(…)"),
        ".",
      );
      replace(results, table({ caption: "Evals", columns: COLUMNS, rows: page.data, empty }));
      results.setAttribute("aria-busy", "false");
      newer.disabled = index === 0;
      older.disabled = next === null;
      pageLabel.textContent = `Page ${index + 1}`;
    } catch (error) {
      if (!signal.aborted) replace(results, errorNotice(error));
    }
  }

  newer.addEventListener("click", () => {
    index -= 1;
    load();
  });
  older.addEventListener("click", () => {
    cursors[index + 1] = next;
    index += 1;
    load();
  });
  load();
}
