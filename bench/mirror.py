"""Mirroring lag and upstream load with many concurrent upstream jobs.

    python bench/mirror.py                          # 200 jobs on Postgres, about 2 minutes
    python bench/mirror.py --jobs 50 --database sqlite

Runs the scripted OpenAI-compatible upstream (tests/support/fake_upstream) in its own process
and `ftgate serve` (in-process workers, default polling settings) in another, against a fresh
database. Creates N jobs at once; each runs 60 one-second steps upstream, so every job emits a
metrics event a second. Measures:

- lag: from the moment an event became visible upstream (the fake's `emitted_at`) to the moment
  it is first seen in the rows ftgate's API serves (read every 50 ms from the database; a
  sample of the API's own event lists confirms they show the same rows);
- upstream requests per job-minute: every /v1 request the upstream received, divided by the
  minutes the jobs lived there (first to last event);
- that every upstream event ftgate shows appears once (none duplicated), none missing.

Bar: p99 lag <= 2 s.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gateway.catalog import DEFAULT_BASE_MODELS  # noqa: E402
from tests.support.jobs import chat_lines  # noqa: E402
from tests.support.postgres import temporary_database  # noqa: E402
from tests.support.server import free_port  # noqa: E402
from tests.support.upstream import OWN_TEXTS  # noqa: E402

FTGATE = str(Path(sys.executable).parent / "ftgate")
UPSTREAM_KEY = "sk-bench-upstream"
EXAMPLES, EPOCHS = 20, 3
SAMPLE_SECONDS = 0.05
LOOKBACK = 3000


def start_upstream(step_seconds: float) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.fake_upstream",
            "--api-key",
            UPSTREAM_KEY,
            "--step-seconds",
            str(step_seconds),
            "--validate-seconds",
            "1",
            "--queue-seconds",
            "1",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready = process.stdout.readline().split()
    assert ready and ready[0] == "READY", ready
    return process, ready[1]


def start_ftgate(data_dir: Path, database_url: str, upstream_url: str) -> tuple[subprocess.Popen, str, str]:
    models = [
        spec.model_copy(update={"provider": "bench"}).model_dump(mode="json") for spec in DEFAULT_BASE_MODELS
    ]
    env = {
        **os.environ,
        "FTGATE_DATA_DIR": str(data_dir),
        "FTGATE_DATABASE_URL": database_url,
        "FTGATE_UPSTREAMS": json.dumps(
            [{"name": "bench", "base_url": upstream_url, "api_key": UPSTREAM_KEY}]
        ),
        "FTGATE_BASE_MODELS": json.dumps(models),
    }
    key = subprocess.run(
        [FTGATE, "keys", "create", "--project", "bench"], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [FTGATE, "serve", "--port", str(port), "--log-level", "warning", "--no-migrate"], env=env
    )
    return server, f"http://127.0.0.1:{port}/v1", key


async def wait_until_up(api: httpx.AsyncClient) -> None:
    for _ in range(300):
        try:
            (await api.get("/models")).raise_for_status()
            return
        except httpx.TransportError:
            await asyncio.sleep(0.1)
    raise RuntimeError("ftgate did not start")


async def watch_events(database_url: str, first_seen: dict[str, float], stop: asyncio.Event) -> None:
    """Note when each mirrored event first appears in the rows the API serves. Transactions
    commit out of sequence order, so each read looks back over the last LOOKBACK rows too."""
    engine = create_async_engine(database_url)
    last_seq = 0
    query = text(
        "SELECT seq, upstream_event_id FROM fine_tuning_job_events "
        "WHERE seq > :since AND upstream_event_id IS NOT NULL"
    )
    try:
        while not stop.is_set():
            async with engine.connect() as connection:
                rows = (await connection.execute(query, {"since": last_seq - LOOKBACK})).all()
            now = time.time()
            for seq, event_id in rows:
                first_seen.setdefault(event_id, now)
                last_seq = max(last_seq, seq)
            await asyncio.sleep(SAMPLE_SECONDS)
    finally:
        await engine.dispose()


async def count_duplicates(database_url: str) -> int:
    """Upstream events ftgate stored more than once."""
    engine = create_async_engine(database_url)
    query = text(
        "SELECT count(*) - count(DISTINCT upstream_event_id) FROM fine_tuning_job_events "
        "WHERE upstream_event_id IS NOT NULL"
    )
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())
    finally:
        await engine.dispose()


async def run(
    jobs: int, ftgate_url: str, key: str, database_url: str
) -> tuple[list[str], dict[str, float], float]:
    first_seen: dict[str, float] = {}
    stop = asyncio.Event()
    headers = {"authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=ftgate_url, headers=headers, timeout=60, limits=limits) as api:
        await wait_until_up(api)
        upload = await api.post(
            "/files", files={"file": ("bench.jsonl", chat_lines(EXAMPLES))}, data={"purpose": "fine-tune"}
        )
        file_id = upload.json()["id"]
        watcher = asyncio.create_task(watch_events(database_url, first_seen, stop))
        body = {
            "model": "gpt-4o-mini",
            "training_file": file_id,
            "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": EPOCHS}}},
        }
        started = time.monotonic()
        created = await asyncio.gather(*(api.post("/fine_tuning/jobs", json=body) for _ in range(jobs)))
        job_ids = [response.json()["id"] for response in created]
        print(f"created {jobs} jobs in {time.monotonic() - started:.1f}s", flush=True)
        while True:
            await asyncio.sleep(2)
            listed = (await api.get("/fine_tuning/jobs", params={"limit": jobs})).json()["data"]
            statuses = [job["status"] for job in listed]
            if all(status in ("succeeded", "failed", "cancelled") for status in statuses):
                break
            running = statuses.count("running")
            print(
                f"  {time.monotonic() - started:5.0f}s  running {running}  done {len(first_seen)} events",
                flush=True,
            )
        stop.set()
        await watcher
        shown = await api.get(f"/fine_tuning/jobs/{job_ids[0]}/events", params={"limit": 1000})
        assert sum(1 for event in shown.json()["data"] if event["type"] == "metrics") == EXAMPLES * EPOCHS
        failed = [job["id"] for job in listed if job["status"] != "succeeded"]
        assert not failed, f"jobs that did not succeed: {failed}"
    return job_ids, first_seen, time.monotonic() - started


def report(
    upstream_state: dict, first_seen: dict[str, float], duplicates: int, jobs: int, seconds: float
) -> None:
    lags, missing, job_minutes = [], 0, 0.0
    for job in upstream_state["jobs"]:
        emitted = [event for event in job["events"] if not event["message"].startswith(OWN_TEXTS)]
        job_minutes += (job["events"][-1]["emitted_at"] - job["events"][0]["emitted_at"]) / 60
        for event in emitted:
            if event["id"] in first_seen:
                lags.append(first_seen[event["id"]] - event["emitted_at"])
            else:
                missing += 1
    requests = len(upstream_state["requests"])
    lags.sort()
    p99 = lags[int(len(lags) * 0.99) - 1]
    print(
        f"\njobs {jobs}, wall time {seconds:.0f}s, mirrored events {len(lags)}, missing {missing}, "
        f"duplicated {duplicates}"
    )
    print(
        f"lag (upstream event -> visible in ftgate's API): p50 {statistics.median(lags):.3f}s  "
        f"p99 {p99:.3f}s  max {lags[-1]:.3f}s"
    )
    print(
        f"upstream requests: {requests} in {job_minutes:.1f} job-minutes = "
        f"{requests / job_minutes:.1f} per job-minute"
    )
    print(f"bar p99 <= 2 s: {'met' if p99 <= 2 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--step-seconds", type=float, default=1.0)
    args = parser.parse_args()
    with ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if args.database == "postgres":
            database_url = stack.enter_context(temporary_database())
        else:
            database_url = f"sqlite+aiosqlite:///{data_dir / 'ftgate.db'}"
        upstream, upstream_url = start_upstream(args.step_seconds)
        stack.callback(upstream.kill)
        server, ftgate_url, key = start_ftgate(data_dir, database_url, upstream_url)
        stack.callback(server.kill)
        job_ids, first_seen, seconds = asyncio.run(run(args.jobs, ftgate_url, key, database_url))
        state = httpx.get(upstream_url.removesuffix("/v1") + "/_fake/state", timeout=60).json()
        mine = set(job_ids)
        state["jobs"] = [job for job in state["jobs"] if job["metadata"]["ftgate_job_id"] in mine]
        report(state, first_seen, asyncio.run(count_duplicates(database_url)), args.jobs, seconds)


if __name__ == "__main__":
    main()
