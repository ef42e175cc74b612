// The project's evals, newest first, paged with `after` cursors.
import { query, request } from "../api.js";
import { h, replace, table } from "../dom.js";
import { dateTime, integer } from "../format.js";
import { code, cursorPager, errorNotice, loading, pageHeader } from "../widgets.js";

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
  const pager = cursorPager(() => load());
  view.append(
    pageHeader("Evals"),
    h(
      "div",
      { class: "toolbar" },
      h("p", { class: "lede" }, "Each eval grades its runs' samples by the same testing criteria."),
      pager.element,
    ),
    results,
  );

  async function load() {
    results.setAttribute("aria-busy", "true");
    try {
      const page = await request(
        `/evals${query({ limit: PAGE_SIZE, after: pager.after, order: "desc" })}`,
      );
      if (signal.aborted) return;
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
      pager.shown(page.has_more && page.data.length ? page.data[page.data.length - 1].id : null);
    } catch (error) {
      if (!signal.aborted) replace(results, errorNotice(error));
    }
  }

  load();
}
