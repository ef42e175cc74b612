"""Mirroring lag and upstream load with many concurrent upstream jobs.

    python bench/mirror.py                          # 200 jobs on Postgres, about 2 minutes
    python bench/mirror.py --jobs 50 --database sqlite
    python bench/mirror.py --celery 2               # the tasks on a Celery worker (local Redis)

Runs the scripted OpenAI-compatible upstream (tests/support/fake_upstream) in its own process
and `ftgate serve` (in-process workers, or Celery workers with `--celery`; default polling
settings) in another, against a fresh database. Creates N jobs at once; each runs 60 one-second
steps upstream, so every job emits a metrics event a second. Measures:

- lag: from the moment an event became visible upstream (the fake's `emitted_at`) to the moment
  it is first seen in the rows ftgate's API serves (read every 50 ms from the database; a
  sample of the API's own event lists confirms they show the same rows), and its two parts:
  waiting for the next look at the job's events, and from that look to visible;
- upstream requests per job-minute: every /v1 request the upstream received, divided by the
  minutes the jobs lived there (first to last event);
- that ftgate stored every upstream event once (none duplicated), none missing;
- the CPU time ftgate's processes and the scripted upstream used.

Bar: p99 lag <= 2 s.
"""

import argparse
import asyncio
import bisect
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
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

REPO = Path(__file__).resolve().parent.parent
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
        cwd=REPO,
        stdout=subprocess.PIPE,
        start_new_session=True,
        text=True,
    )
    assert process.stdout is not None
    ready = process.stdout.readline().split()
    assert ready and ready[0] == "READY", ready
    return process, ready[1]


def start_ftgate(
    data_dir: Path, database_url: str, upstream_url: str, celery_processes: int
) -> tuple[dict[str, subprocess.Popen], str, str]:
    """`ftgate serve`, with in-process workers or, given `celery_processes`, with a Celery worker
    of that many processes (and beat) on the local Redis, on queues of its own."""
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
    processes = {}
    if celery_processes:
        queue = f"bench-{secrets.token_hex(4)}"
        env |= {"FTGATE_QUEUE": "celery", "FTGATE_CELERY_QUEUE": queue, "FTGATE_CELERY_TRAINING_QUEUE": queue}
        worker = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", queue]
        worker += ["-c", str(celery_processes), "-l", "warning", "-B", "-s", str(data_dir / "beat")]
        processes["celery worker"] = subprocess.Popen(worker, cwd=REPO, env=env, start_new_session=True)
    key = subprocess.run(
        [FTGATE, "keys", "create", "--project", "bench"], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()[-1]
    port = free_port()
    server = [FTGATE, "serve", "--port", str(port), "--log-level", "warning", "--no-migrate"]
    processes["ftgate serve"] = subprocess.Popen(server, env=env, start_new_session=True)
    return processes, f"http://127.0.0.1:{port}/v1", key


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
    commit out of sequence order, so each read looks back over the last LOOKBACK rows too. The
    last read starts after `stop` is set, so it sees everything the run saw committed."""
    engine = create_async_engine(database_url)
    last_seq = 0
    query = text(
        "SELECT seq, upstream_event_id FROM fine_tuning_job_events "
        "WHERE seq > :since AND upstream_event_id IS NOT NULL"
    )
    try:
        while True:
            stopping = stop.is_set()
            async with engine.connect() as connection:
                rows = (await connection.execute(query, {"since": last_seq - LOOKBACK})).all()
            now = time.time()
            for seq, event_id in rows:
                first_seen.setdefault(event_id, now)
                last_seq = max(last_seq, seq)
            if stopping:
                return
            await asyncio.sleep(SAMPLE_SECONDS)
    finally:
        await engine.dispose()


async def stored_events(database_url: str) -> Counter[str]:
    """How many times ftgate stored each upstream event."""
    engine = create_async_engine(database_url)
    query = text("SELECT upstream_event_id FROM fine_tuning_job_events WHERE upstream_event_id IS NOT NULL")
    try:
        async with engine.connect() as connection:
            return Counter((await connection.execute(query)).scalars())
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
    upstream_state: dict, first_seen: dict[str, float], stored: Counter[str], jobs: int, seconds: float
) -> None:
    """The lag, and its two parts: waiting for the first look at the job's events after the
    event appeared upstream, and from that look's request to the event being visible."""
    lags, waits, recordings, missing, job_minutes = [], [], [], 0, 0.0
    looks: dict[str, list[float]] = {}
    for request in upstream_state["requests"]:
        if request["method"] == "GET" and request["path"].endswith("/events"):
            looks.setdefault(request["path"].split("/")[-2], []).append(request["at"])
    for job in upstream_state["jobs"]:
        emitted = [event for event in job["events"] if not event["message"].startswith(OWN_TEXTS)]
        job_minutes += (job["events"][-1]["emitted_at"] - job["events"][0]["emitted_at"]) / 60
        job_looks = sorted(looks.get(job["id"], []))
        for event in emitted:
            if event["id"] not in stored:
                missing += 1
                continue
            assert event["id"] in first_seen, f"event {event['id']} stored after the run ended"
            lags.append(first_seen[event["id"]] - event["emitted_at"])
            look = bisect.bisect_left(job_looks, event["emitted_at"])
            if look < len(job_looks):
                waits.append(job_looks[look] - event["emitted_at"])
                recordings.append(first_seen[event["id"]] - job_looks[look])
    requests = len(upstream_state["requests"])
    print(
        f"\njobs {jobs}, wall time {seconds:.0f}s, mirrored events {len(lags)}, missing {missing}, "
        f"duplicated {sum(count - 1 for count in stored.values())}"
    )
    print(f"lag (upstream event -> visible in ftgate's API): {percentiles(lags)}")
    print(f"  waiting for the next look: {percentiles(waits)}")
    print(f"  from that look to visible: {percentiles(recordings)}")
    print(
        f"upstream requests: {requests} in {job_minutes:.1f} job-minutes = "
        f"{requests / job_minutes:.1f} per job-minute"
    )
    print(f"bar p99 <= 2 s: {'met' if p99(lags) <= 2 else 'NOT met'}")


def cpu_seconds(group: int) -> float:
    """User and system CPU time the live processes of a process group have used so far (Linux)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # it ended meanwhile
        if int(fields[2]) == group:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99) - 1]


def percentiles(values: list[float]) -> str:
    return f"p50 {statistics.median(values):.3f}s  p99 {p99(values):.3f}s  max {max(values):.3f}s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--step-seconds", type=float, default=1.0)
    parser.add_argument(
        "--celery", type=int, default=0, metavar="N", help="run the tasks on a Celery worker of N processes"
    )
    args = parser.parse_args()
    with ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if args.database == "postgres":
            database_url = stack.enter_context(temporary_database())
        else:
            database_url = f"sqlite+aiosqlite:///{data_dir / 'ftgate.db'}"
        upstream, upstream_url = start_upstream(args.step_seconds)
        stack.callback(os.killpg, upstream.pid, signal.SIGKILL)
        ftgate, ftgate_url, key = start_ftgate(data_dir, database_url, upstream_url, args.celery)
        for process in ftgate.values():
            stack.callback(os.killpg, process.pid, signal.SIGKILL)
        job_ids, first_seen, seconds = asyncio.run(run(args.jobs, ftgate_url, key, database_url))
        state = httpx.get(upstream_url.removesuffix("/v1") + "/_fake/state", timeout=60).json()
        mine = set(job_ids)
        state["jobs"] = [job for job in state["jobs"] if job["metadata"]["ftgate_job_id"] in mine]
        report(state, first_seen, asyncio.run(stored_events(database_url)), args.jobs, seconds)
        used = ", ".join(f"{name} {cpu_seconds(process.pid):.0f}s" for name, process in ftgate.items())
        print(f"CPU time: {used}, scripted upstream {cpu_seconds(upstream.pid):.0f}s")


if __name__ == "__main__":
    main()
