// One job: its settings, live events, loss and accuracy charts, checkpoints and actions.
import { request } from "../api.js";
import { ACCURACY_SERIES, LOSS_SERIES, MetricsChart } from "../charts.js";
import { h, replace } from "../dom.js";
import { TERMINAL_STATUSES } from "../format.js";
import { EventFeed } from "../job_feed.js";
import { StepPace, estimatedFinish } from "../job_pace.js";
import { confirmingButton, errorNotice, loading, statusBadge } from "../widgets.js";
import { checkpointsTable, costText, details, eventItem, modelBanner } from "./job_sections.js";

const POLL_MS = 1000;
const ACTIONS = {
  pause: new Set(["queued", "running"]),
  resume: new Set(["paused"]),
  cancel: new Set(["validating_files", "queued", "running", "paused"]),
};
export function render(view, { params, signal, setTitle }) {
  const { jobId } = params;
  setTitle(jobId);
  const feed = new EventFeed(jobId);
  const pace = new StepPace();
  const lossChart = new MetricsChart({ id: "loss-chart", title: "Loss", series: LOSS_SERIES, logScale: true });
  const accuracyChart = new MetricsChart({
    id: "accuracy-chart",
    title: "Token accuracy",
    series: ACCURACY_SERIES,
    yMax: 1,
  });

  const status = h("span", { class: "status-slot", role: "status" });
  const actionError = h("div", { class: "action-error" });
  const buttons = {};
  const act = async (action) => {
    replace(actionError);
    try {
      await request(`/fine_tuning/jobs/${jobId}/${action}`, { method: "POST" });
    } catch (error) {
      replace(actionError, errorNotice(error));
    }
    await inFlight;
    await refresh();
  };
  buttons.pause = h(
    "button",
    { type: "button", id: "pause-job", class: "button", disabled: true, onclick: () => act("pause") },
    "Pause",
  );
  buttons.resume = h(
    "button",
    { type: "button", id: "resume-job", class: "button", disabled: true, onclick: () => act("resume") },
    "Resume",
  );
  buttons.cancel = confirmingButton("Cancel job", "Confirm cancel", () => act("cancel"));
  buttons.cancel.id = "cancel-job";
  buttons.cancel.disabled = true;

  const actions = h("div", { class: "actions", hidden: true }, buttons.pause, buttons.resume, buttons.cancel);
  const banner = h("div", { class: "banner-slot" });
  const summary = h("div", {}, loading("Loading job"));
  const checkpoints = h("div", {}, loading("Loading checkpoints"));
  const timeline = h("ol", {
    class: "timeline",
    id: "events",
    "aria-live": "polite",
    "aria-relevant": "additions",
  });
  const eventCount = h("span", { class: "count" });
  const hideSteps = h("input", { type: "checkbox", id: "hide-steps" });
  hideSteps.addEventListener("change", () => timeline.classList.toggle("hide-metrics", hideSteps.checked));

  view.append(
    h(
      "div",
      { class: "page-header" },
      h(
        "div",
        {},
        h("p", { class: "crumbs" }, h("a", { href: "jobs" }, "Jobs"), " / "),
        h("h1", { tabindex: "-1", class: "id-title" }, jobId),
      ),
      status,
      actions,
    ),
    actionError,
    banner,
    h(
      "div",
      { class: "job-layout" },
      h(
        "section",
        { class: "card job-details", "aria-labelledby": "details-title" },
        h("h2", { id: "details-title" }, "Details"),
        summary,
      ),
      h(
        "div",
        { class: "job-main" },
        h(
          "section",
          { class: "charts", "aria-label": "Metrics per step" },
          lossChart.figure,
          accuracyChart.figure,
        ),
        h(
          "section",
          { class: "card", "aria-labelledby": "checkpoints-title" },
          h("h2", { id: "checkpoints-title" }, "Checkpoints"),
          checkpoints,
        ),
        h(
          "section",
          { class: "card", "aria-labelledby": "events-title" },
          h(
            "div",
            { class: "section-header" },
            h("h2", { id: "events-title" }, "Events ", eventCount),
            h("label", { class: "inline" }, hideSteps, " Hide step metrics"),
          ),
          h(
            "div",
            { class: "timeline-scroll", tabindex: "0", role: "region", "aria-label": "Event timeline" },
            timeline,
          ),
        ),
      ),
    ),
  );

  let timer = null;
  let inFlight = null;
  let shownJob = "";
  let shownCheckpoints = "";
  let eventTotal = 0;
  let cost = { basis: null, text: null };
  let settled = false;

  /** One read at a time, so that the event feed never hands out the same event twice. */
  function refresh() {
    inFlight ??= poll().finally(() => (inFlight = null));
    return inFlight;
  }

  async function poll() {
    clearTimeout(timer);
    let job, events, checkpointList;
    try {
      [job, events, checkpointList] = await Promise.all([
        request(`/fine_tuning/jobs/${jobId}`),
        feed.fresh(),
        request(`/fine_tuning/jobs/${jobId}/checkpoints?limit=100`),
      ]);
    } catch (error) {
      if (signal.aborted) return;
      if (error.status === 404) {
        replace(
          view,
          h("h1", { tabindex: "-1" }, "Job not found"),
          h("p", {}, `This project has no job ${jobId}. `, h("a", { href: "jobs" }, "Back to jobs")),
        );
        return;
      }
      replace(summary, errorNotice(error));
      timer = setTimeout(refresh, POLL_MS * 5);
      return;
    }
    if (signal.aborted) return;

    const metrics = events.filter((event) => event.type === "metrics");
    if (job.status === "paused") pace.forget();
    else pace.add(metrics);
    lossChart.add(metrics);
    accuracyChart.add(metrics);
    timeline.prepend(...events.reverse().map(eventItem));
    eventTotal += events.length;
    eventCount.textContent = `(${eventTotal})`;

    const finish = estimatedFinish(job, pace);
    const snapshot = JSON.stringify([job, finish]);
    if (snapshot !== shownJob) {
      shownJob = snapshot;
      const basis = `${job.trained_tokens} ${TERMINAL_STATUSES.has(job.status)}`;
      if (cost.basis !== basis) cost = { basis, text: costText(job) };
      const costSlot = h("span", { id: "job-cost" }, "…");
      cost.text.then((text) => (costSlot.textContent = text));
      replace(status, statusBadge(job.status));
      replace(banner, modelBanner(job));
      replace(summary, details(job, costSlot, finish));
      // A finished job takes no more actions: none is shown.
      actions.hidden = TERMINAL_STATUSES.has(job.status);
      for (const [action, allowed] of Object.entries(ACTIONS))
        buttons[action].disabled = !allowed.has(job.status);
    }
    const checkpointSnapshot = JSON.stringify(checkpointList.data);
    if (checkpointSnapshot !== shownCheckpoints) {
      shownCheckpoints = checkpointSnapshot;
      replace(checkpoints, checkpointsTable(checkpointList.data, job));
    }

    // One more read after the job ends picks up the events written with its last status change.
    if (TERMINAL_STATUSES.has(job.status)) {
      if (settled) return;
      settled = true;
    }
    timer = setTimeout(refresh, POLL_MS);
  }

  signal.addEventListener("abort", () => {
    clearTimeout(timer);
    lossChart.destroy();
    accuracyChart.destroy();
  });
  refresh();
}
