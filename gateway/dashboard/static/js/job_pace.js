// When a running job should end: the upstream's own estimate, or else the pace of its latest
// steps. A paused job has no finish to promise, and the steps before a pause say nothing of the
// pace after it.
import { dateTime } from "./format.js";

const WINDOW = 20;

export class StepPace {
  #steps = [];

  /** Notes these metrics events (oldest first). */
  add(events) {
    for (const { created_at: at, data } of events) {
      this.#steps.push({ at, step: data.step, total: data.total_steps });
    }
    this.#steps = this.#steps.slice(-WINDOW);
  }

  forget() {
    this.#steps = [];
  }

  /** Unix seconds at which the remaining steps end at the recent pace, or null. */
  finish() {
    const first = this.#steps[0];
    const last = this.#steps[this.#steps.length - 1];
    if (!first || last.at <= first.at || last.step <= first.step) return null;
    const perStep = (last.at - first.at) / (last.step - first.step);
    return last.at + perStep * (last.total - last.step);
  }
}

export function estimatedFinish(job, pace) {
  if (job.status === "paused") return "None while paused";
  if (job.estimated_finish) return dateTime(job.estimated_finish);
  if (job.status !== "running") return "—";
  const finish = pace.finish();
  return finish ? `≈ ${dateTime(finish)} (at the recent pace)` : "—";
}
