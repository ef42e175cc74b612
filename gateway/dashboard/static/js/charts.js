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

/** `points` smoothed by an exponential moving average of weight `weight` (0: as they are),
 *  debiased so that the first points are not pulled towards zero. */
export function smoothed(points, weight) {
  if (weight === 0) return points;
  let average = 0;
  return points.map((point, index) => {
    average = average * weight + (1 - weight) * point.y;
    return { x: point.x, y: average / (1 - weight ** (index + 1)) };
  });
}

/** The figure's controls: a smoothing slider and, where the values allow one, a log scale. */
function chartControls(id, title, logScale, onChange) {
  const smoothing = h("input", {
    type: "range",
    id: `${id}-smoothing`,
    min: "0",
    max: "0.95",
    step: "0.05",
    value: "0",
    "aria-label": `${title}: smoothing`,
  });
  const smoothingValue = h("output", { for: `${id}-smoothing` }, "off");
  const log = h("input", { type: "checkbox", id: `${id}-log` });
  const read = () => {
    const weight = Number(smoothing.value);
    smoothingValue.textContent = weight ? weight.toFixed(2) : "off";
    onChange({ weight, log: log.checked });
  };
  smoothing.addEventListener("input", read);
  log.addEventListener("change", read);
  return h(
    "div",
    { class: "chart-controls" },
    h("label", { class: "inline", for: `${id}-smoothing` }, "Smoothing", smoothing, smoothingValue),
    logScale
      ? h("label", { class: "inline", for: `${id}-log` }, log, "Log scale")
      : null,
  );
}

/** A line chart of some metrics per step. Its figure's `data-points` counts the steps drawn. */
export class MetricsChart {
  constructor({ id, title, series, yMax, logScale = false }) {
    this.series = series;
    this.title = title;
    this.yMax = yMax;
    this.raw = series.map(() => []);
    this.view = { weight: 0, log: false };
    this.canvas = h("canvas", { role: "img", "aria-label": `${title}: no steps yet` });
    this.figure = h(
      "figure",
      { class: "chart card", id, dataset: { points: "0" } },
      h(
        "div",
        { class: "chart-header" },
        h("figcaption", {}, title),
        chartControls(id, title, logScale, (view) => {
          this.view = view;
          this.#draw();
        }),
      ),
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
        if (typeof data[line.key] === "number") this.raw[index].push({ x: data.step, y: data[line.key] });
      });
    }
    this.#draw();
    const last = events[events.length - 1].data;
    const points = this.raw[0].length;
    this.figure.dataset.points = String(points);
    const latest = this.series
      .filter((line) => typeof last[line.key] === "number")
      .map((line) => `${line.label.toLowerCase()} ${last[line.key].toFixed(4)}`)
      .join(", ");
    this.canvas.setAttribute("aria-label", `${this.title}, ${points} steps; at step ${last.step}: ${latest}`);
  }

  /** The raw points, smoothed as asked, on a linear or a log scale (which has no zero). */
  #draw() {
    const { weight, log } = this.view;
    this.raw.forEach((points, index) => {
      this.chart.data.datasets[index].data = smoothed(points, weight);
    });
    const y = this.chart.options.scales.y;
    y.type = log ? "logarithmic" : "linear";
    y.min = log ? undefined : 0;
    y.max = log ? undefined : this.yMax;
    this.chart.update("none");
  }

  destroy() {
    this.chart.destroy();
  }
}
