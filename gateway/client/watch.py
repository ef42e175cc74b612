"""`ftgate jobs watch JOB`: follows a job until it ends and exits with its outcome (0 succeeded,
1 failed, 2 cancelled). On a terminal it draws the status, a bar over the steps with the time
left and a loss sparkline, with the events above as they come (metrics events feed the bar rather
than the log); piped, it prints every event as a plain line and the outcome last."""

import argparse
import time
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from rich.live import Live
from rich.text import Text

from gateway.client.http import Gateway
from gateway.client.output import console
from gateway.client.training_view import TrainingView

EXIT_CODES = {"succeeded": 0, "failed": 1, "cancelled": 2}
LEVEL_STYLES = {"warn": "yellow", "error": "bold red"}
EVENTS_PAGE = 100


class EventFeed:
    """A job's events oldest first, each once. The events list is newest first, so a poll reads
    it from the newest back to the first event it has already seen."""

    def __init__(self, gateway: Gateway, job_id: str) -> None:
        self.gateway = gateway
        self.path = f"/fine_tuning/jobs/{job_id}/events"
        self.seen: set[str] = set()

    def new_events(self) -> list[dict[str, Any]]:
        fresh: list[dict[str, Any]] = []
        after = None
        while True:
            page = self.gateway.get(self.path, limit=EVENTS_PAGE, after=after)
            for event in page["data"]:
                if event["id"] in self.seen:
                    return self._take(fresh)
                fresh.append(event)
            if not page["has_more"] or not page["data"]:
                return self._take(fresh)
            after = page["data"][-1]["id"]

    def _take(self, fresh: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.seen.update(event["id"] for event in fresh)
        return fresh[::-1]


def event_line(event: dict[str, Any]) -> Text:
    clock = datetime.fromtimestamp(event["created_at"]).strftime("%H:%M:%S")
    return Text.assemble((clock, "dim"), " ", (event["message"], LEVEL_STYLES.get(event["level"], "")))


def outcome_line(job: dict[str, Any]) -> str:
    if job["status"] == "succeeded":
        return f"{job['id']} succeeded: {job['fine_tuned_model']}"
    if job["status"] == "failed" and job.get("error"):
        return f"{job['id']} failed: {job['error']['message']}"
    return f"{job['id']} {job['status']}"


def watch(gateway: Gateway, args: argparse.Namespace) -> None:
    feed = EventFeed(gateway, args.job)
    view = TrainingView()
    display: AbstractContextManager[Any] = (
        Live(view, console=console, refresh_per_second=4) if console.is_terminal else nullcontext()
    )
    with display:
        while True:
            # The job first: the events of its last move are written with it, so they are read after.
            view.job = gateway.get(f"/fine_tuning/jobs/{args.job}")
            for event in feed.new_events():
                if event["type"] == "metrics":
                    view.add_metrics(event["data"])
                if event["type"] != "metrics" or not console.is_terminal:
                    console.print(event_line(event), soft_wrap=True)
            view.update_bar()
            if view.job["status"] in EXIT_CODES:
                break
            time.sleep(args.interval)
    console.print(outcome_line(view.job), markup=False, soft_wrap=True)
    raise SystemExit(EXIT_CODES[view.job["status"]])
