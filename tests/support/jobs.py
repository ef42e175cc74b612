"""Helpers for tests that create files and jobs through the SDK."""

import json
import time
from pathlib import Path

import openai
from openai.types.fine_tuning import FineTuningJob

DATA = Path(__file__).resolve().parent.parent / "data"


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
