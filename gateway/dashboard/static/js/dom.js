// Building DOM nodes from data without innerHTML: text is always text.

/** h("a", {href: "jobs", class: "link"}, "Jobs") → <a href="jobs" class="link">Jobs</a>.
 *  Props starting with "on" are listeners; false/null/undefined props and children are skipped. */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

export function replace(parent, ...children) {
  parent.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined));
}

/** A <dl> from [term, description] pairs; pairs whose description is null are left out. */
export function facts(pairs, className = "facts") {
  return h(
    "dl",
    { class: className },
    pairs
      .filter(([, description]) => description !== null && description !== undefined)
      .map(([term, description]) => h("div", {}, h("dt", {}, term), h("dd", {}, description))),
  );
}

/** A table whose rows read as cards on a phone (pages.css): each cell carries its column's label,
 *  and explicit ARIA roles keep it a table for screen readers once CSS displays it as blocks. */
export function table({ caption, columns, rows, empty }) {
  if (rows.length === 0) return h("p", { class: "empty" }, empty);
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { role: "table" },
      caption && h("caption", { class: "visually-hidden" }, caption),
      h(
        "thead",
        { role: "rowgroup" },
        h(
          "tr",
          { role: "row" },
          columns.map((column) =>
            h("th", { scope: "col", role: "columnheader", class: column.class }, column.label),
          ),
        ),
      ),
      h(
        "tbody",
        { role: "rowgroup" },
        rows.map((row) =>
          h(
            "tr",
            { role: "row" },
            columns.map((column) =>
              h("td", { role: "cell", class: column.class, "data-label": column.label }, column.cell(row)),
            ),
          ),
        ),
      ),
    ),
  );
}
