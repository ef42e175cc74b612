// Usage over time: one stacked bar per day, a colour per project, key or model.
import "./charts.js"; // Chart.js's fonts and colours, as on the other pages
import { h } from "./dom.js";

const { Chart } = window;
const PALETTE = ["#2f55c4", "#c2570c", "#11795b", "#8e3fb5", "#b42318", "#0e7490", "#a16207", "#4a5160"];

/** A chart of `value(row)` per day and per group: `days` on the x axis, `series` [{name, rows}]
 *  the groups, `whole` for counts (no fractional ticks). Answers {figure, destroy}. */
export function usageChart({ id, title, days, series, value, format, whole = false }) {
  const total = series.reduce((sum, group) => sum + group.rows.reduce((s, row) => s + value(row), 0), 0);
  const canvas = h("canvas", {
    role: "img",
    "aria-label": `${title}: ${format(total)} in all over ${days.length} days, by ${series.length} groups`,
  });
  const figure = h(
    "figure",
    { class: "chart card", id },
    h("figcaption", {}, title, h("span", { class: "muted" }, ` · ${format(total)} in all`)),
    h("div", { class: "chart-area" }, canvas),
  );
  const chart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: days,
      datasets: series.map((group, index) => {
        const byDay = new Map(group.rows.map((row) => [row.day, value(row)]));
        const color = PALETTE[index % PALETTE.length];
        return {
          label: group.name,
          data: days.map((day) => byDay.get(day) ?? 0),
          backgroundColor: color,
          borderColor: color,
        };
      }),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: {
        x: { stacked: true, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
        y: {
          stacked: true,
          beginAtZero: true,
          ticks: { precision: whole ? 0 : undefined, callback: (tick) => format(tick) },
        },
      },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 10, boxHeight: 10 } },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${format(item.parsed.y)}` } },
      },
    },
  });
  return { figure, destroy: () => chart.destroy() };
}
