// A job's events as they arrive. The API lists them newest first and pages backwards with
// `after`, so each read takes the newest pages until it meets an event it has already seen.
import { query, request } from "./api.js";

const PAGE_SIZE = 100;

export class EventFeed {
  #known = new Set();

  constructor(jobId) {
    this.jobId = jobId;
  }

  /** Events not returned before, oldest first. */
  async fresh() {
    const found = [];
    let after;
    for (;;) {
      const page = await request(
        `/fine_tuning/jobs/${this.jobId}/events${query({ limit: PAGE_SIZE, after })}`,
      );
      for (const event of page.data) {
        if (this.#known.has(event.id)) return this.#accept(found);
        found.push(event);
      }
      if (!page.has_more || page.data.length === 0) return this.#accept(found);
      after = page.data[page.data.length - 1].id;
    }
  }

  #accept(found) {
    for (const event of found) this.#known.add(event.id);
    return found.reverse();
  }
}
