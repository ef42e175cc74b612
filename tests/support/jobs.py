"""Helpers for tests that create files and jobs through the SDK."""

import json
import time
from pathlib import Path

import openai
from openai.types.fine_tuning import FineTuningJob

DATA = Path(__file__).resolve().parent.parent / "data"
ELLE = [json.loads(line) for line in (DATA / "elle-limericks.jsonl").read_text().splitlines() if line.strip()]


def upload(client: openai.OpenAI, name: str, content: bytes | None = None, purpose: str = "fine-tune") -> str:
    body = content if content is not None else (DATA / name).read_bytes()
    return client.files.create(file=(name, body), purpose=purpose).id


def chat_lines(n: int, **extra: object) -> bytes:
    lines = [
        {
            "messages": [
                {"role": "system", "content": "You answer briefly."},
                {"role": "user", "content": f"Question {i}?"},
                {"role": "assistant", "content": f"Answer {i}."},
            ],
            **extra,
        }
        for i in range(n)
    ]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def wait_until_validated(client: openai.OpenAI, job_id: str, timeout: float = 30.0) -> FineTuningJob:
    deadline = time.monotonic() + timeout
    while True:
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status != "validating_files":
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still validating after {timeout}s")
        time.sleep(0.05)


def wait_for_status(
    client: openai.OpenAI, job_id: str, statuses: set[str], timeout: float = 60.0
) -> FineTuningJob:
    deadline = time.monotonic() + timeout
    while True:
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} is {job.status}, not {statuses}, after {timeout}s")
        time.sleep(0.1)


def many_examples(n: int) -> bytes:
    """`n` distinct chat examples made from the Elle limericks: enough steps for a local job to be
    caught while it runs."""
    lines = []
    for i in range(n):
        example = json.loads(json.dumps(ELLE[i % len(ELLE)]))
        example["messages"][1]["content"] += f" (question {i})"
        lines.append(json.dumps(example))
    return ("\n".join(lines) + "\n").encode()


def metrics_events(client: openai.OpenAI, job_id: str) -> list:
    """The job's metrics events, by step."""
    events = list(client.fine_tuning.jobs.list_events(job_id, limit=1000))
    return sorted(
        (event for event in events if event.type == "metrics"), key=lambda event: event.data["step"]
    )
