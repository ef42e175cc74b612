// Each training file's validation verdict for the files list, read a few files at a time.
import { request } from "./api.js";
import { h } from "./dom.js";
import { integer } from "./format.js";

const AT_ONCE = 4;
const reports = new Map();
const waiting = [];
let reading = 0;

function next() {
  while (reading < AT_ONCE && waiting.length) {
    const { fileId, settle } = waiting.shift();
    reading += 1;
    request(`/files/${fileId}/validation`)
      .then(settle.resolve, settle.reject)
      .finally(() => {
        reading -= 1;
        next();
      });
  }
}

/** The file's validation report, read once per page load. */
export function validationReport(fileId) {
  if (!reports.has(fileId)) {
    const settle = {};
    const report = new Promise((resolve, reject) => Object.assign(settle, { resolve, reject }));
    reports.set(fileId, report);
    report.catch(() => reports.delete(fileId));
    waiting.push({ fileId, settle });
    next();
  }
  return reports.get(fileId);
}

/** "Ready" or "N problems": a badge that fills in once the file's report is read. */
export function validationBadge(file) {
  const cell = h("span", { class: "validation-cell muted" }, "Checking…");
  validationReport(file.id).then(
    (report) => {
      const problems = report.format === null ? Math.max(report.n_invalid, 1) : report.n_invalid;
      cell.className = "validation-cell";
      cell.replaceChildren(
        problems
          ? h(
              "span",
              { class: "badge status-fail", title: "A job on this file would fail" },
              report.format === null ? "No examples" : `${integer(problems)} problem${problems > 1 ? "s" : ""}`,
            )
          : h("span", { class: "badge status-succeeded" }, "Ready"),
      );
    },
    () => (cell.textContent = "—"),
  );
  return cell;
}
