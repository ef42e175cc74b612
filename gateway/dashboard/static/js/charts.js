// Per-step charts of a job's metrics events, drawn with the vendored Chart.js.
import { h } from "./dom.js";

const { Chart } = window;
Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
Chart.defaults.color = "#4a5160";
Chart.defaults.borderColor = "#e4e7ec";

const TRAIN = { color: "#2f55c4", pointRadius: 0, borderWidth: 2 };
const VALID = { color: "#c2570c", pointRadius: 2.5, borderWidth: 1.5, borderDash: [6, 3] };
const FULL_VALID = { color: "#11795b", pointRadius: 5, borderWidth: 1.5, pointStyle: "rectRot" };

export const LOSS_SERIES = [
  { key: "train_loss", label: "Training loss", ...TRAIN },
  { key: "valid_loss", label: "Validation loss", ...VALID },
  { key: "full_valid_loss", label: "Full validation loss", ...FULL_VALID },
];
export const ACCURACY_SERIES = [
  { key: "train_mean_token_accuracy", label: "Training accuracy", ...TRAIN },
  { key: "valid_mean_token_accuracy", label: "Validation accuracy", ...VALID },
  { key: "full_valid_mean_token_accuracy", label: "Full validation accuracy", ...FULL_VALID },
];

/** A line chart of some metrics per step. Its figure's `data-points` counts the steps drawn. */
export class MetricsChart {
  constructor({ id, title, series, yMax }) {
    this.series = series;
    this.title = title;
    this.canvas = h("canvas", { role: "img", "aria-label": `${title}: no steps yet` });
    this.figure = h(
      "figure",
      { class: "chart card", id, dataset: { points: "0" } },
      h("figcaption", {}, title),
      h("div", { class: "chart-area" }, this.canvas),
    );
    this.chart = new Chart(this.canvas, {
      type: "line",
      data: {
        datasets: series.map((line) => ({
          label: line.label,
          data: [],
          borderColor: line.color,
          backgroundColor: line.color,
          borderWidth: line.borderWidth,
          borderDash: line.borderDash,
          pointRadius: line.pointRadius,
          pointStyle: line.pointStyle,
          pointHoverRadius: Math.max(line.pointRadius, 3) + 1,
          tension: 0,
        })),
      },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: { type: "linear", min: 1, title: { display: true, text: "Step" }, ticks: { precision: 0 } },
          y: { min: 0, max: yMax, title: { display: false } },
        },
        plugins: {
          legend: {
            position: "bottom",
            labels: {
              usePointStyle: true,
              boxHeight: 7,
              filter: (item, data) => data.datasets[item.datasetIndex].data.length > 0,
            },
          },
          tooltip: { callbacks: { title: (items) => `Step ${items[0].parsed.x}` } },
        },
      },
    });
  }

  /** Adds the steps of these metrics events (oldest first). */
  add(events) {
    if (events.length === 0) return;
    for (const { data } of events) {
      this.chart.options.scales.x.max = data.total_steps;
      this.series.forEach((line, index) => {
        if (typeof data[line.key] === "number") {
          this.chart.data.datasets[index].data.push({ x: data.step, y: data[line.key] });
        }
      });
    }
    this.chart.update("none");
    const last = events[events.length - 1].data;
    const points = this.chart.data.datasets[0].data.length;
    this.figure.dataset.points = String(points);
    const latest = this.series
      .filter((line) => typeof last[line.key] === "number")
      .map((line) => `${line.label.toLowerCase()} ${last[line.key].toFixed(4)}`)
      .join(", ");
    this.canvas.setAttribute("aria-label", `${this.title}, ${points} steps; at step ${last.step}: ${latest}`);
  }

  destroy() {
    this.chart.destroy();
  }
}
