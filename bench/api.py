"""The API's read path next to a bare FastAPI app, and what a large database costs.

    python bench/api.py                      # SQLite, 1k, 10k, 100k and 1M jobs (several minutes)
    python bench/api.py --database postgres --sizes 1000 10000
    python bench/api.py --quick              # 1k and 10k jobs, short figures (about a minute)
    python bench/api.py --repeats 3 --seconds 5

Needs `wrk` (Debian: apt-get install wrk). In one run, against one fresh database:

- req/s of GET a job, list jobs and list a job's events on `ftgate serve` (one uvicorn worker),
  each next to a bare FastAPI app on the same uvicorn settings answering a fixed body of the same
  size: the ratio is the figure (goal >= 40 % of bare for each);
- list jobs p50 (ms, one client) for a project with 20 jobs in a database that also holds
  1k … 1M other jobs, every one older (goal: p50 at the largest <= 1.5 x at 1k);
- an idle server's CPU (% of one core over `--idle-seconds`) with that many finished jobs
  (goal < 5 %): the background schedulers' queries must stay indexed.
"""

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gateway.models import JobEvent, Project  # noqa: E402
from tests.support.postgres import temporary_database  # noqa: E402
from tests.support.server import free_port  # noqa: E402

FTGATE = str(Path(sys.executable).parent / "ftgate")
SMALL_PROJECT_JOBS = 20
EVENTS_PER_JOB = 40
NOW = int(time.time())
HYPERPARAMETERS = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.0}

BARE_APP = """
import os
from fastapi import FastAPI, Response

BODY = os.environ["BARE_BODY"].encode()
app = FastAPI()

@app.get("/{path:path}")
async def fixed(path: str) -> Response:
    return Response(BODY, media_type="application/json")
"""


# Jobs made in the database by one INSERT ... SELECT over a series of numbers: a million rows
# in seconds, where row-by-row inserts through the driver take minutes.
JOBS_SQL = """
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :count - 1)
INSERT INTO fine_tuning_jobs (
    id, project_id, organization_id, model, base_model, training_file, status, created_at,
    updated_at, finished_at, fine_tuned_model, trained_tokens, method, seed, metadata,
    result_files, provider, steps_trained_tokens
)
SELECT
    'ftjob-bench' || (:first + i), :project_id, :organization_id, 'tiny-chat', 'tiny-chat',
    'file-bench', 'succeeded', :created_at + i, :created_at + i, :created_at + i,
    'ft:tiny-chat:bench::' || (:first + i), 1234, {method}, 42, {metadata}, {result_files},
    'local', 1234
FROM n
"""
METHOD = json.dumps({"type": "supervised", "supervised": {"hyperparameters": HYPERPARAMETERS}})


def event_rows(job_id: str) -> list[dict]:
    return [
        {
            "id": f"ftevent-bench{n:08d}",
            "job_id": job_id,
            "created_at": NOW + n,
            "level": "info",
            "message": f"Step {n + 1}/{EVENTS_PER_JOB}: training loss={2 - n / 40:.4f}",
            "data": {"step": n + 1, "train_loss": 2 - n / 40, "total_steps": EVENTS_PER_JOB},
            "type": "metrics",
        }
        for n in range(EVENTS_PER_JOB)
    ]


async def add_jobs(database_url: str, project_name: str, first: int, count: int, created_at: int) -> None:
    """`count` finished jobs of a project, numbered from `first`, created from `created_at` on."""
    engine = create_async_engine(database_url)
    postgres = engine.dialect.name == "postgresql"
    json_value = "CAST(:{} AS jsonb)" if postgres else ":{}"
    sql = JOBS_SQL.format(
        **{name: json_value.format(name) for name in ("method", "metadata", "result_files")}
    )
    async with engine.begin() as connection:
        project = (await connection.execute(select(Project).where(Project.name == project_name))).one()
        await connection.execute(
            text(sql),
            {
                "count": count,
                "first": first,
                "project_id": project.id,
                "organization_id": project.organization_id,
                "created_at": created_at,
                "method": METHOD,
                "metadata": json.dumps({"team": "bench"}),
                "result_files": "[]",
            },
        )
        if postgres:
            # As autovacuum would soon after: the planner then knows how the jobs are spread.
            await connection.execute(text("ANALYZE fine_tuning_jobs"))
    await engine.dispose()


async def add_events(database_url: str, job_id: str) -> None:
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(insert(JobEvent.__table__), event_rows(job_id))
    await engine.dispose()


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "postgres":
        with temporary_database() as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{folder / 'bench.db'}"


@contextmanager
def started(command: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{command} did not start") from None
                time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def requests_per_second(url: str, key: str, seconds: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", "-c8", f"-d{seconds}s", "-H", f"Authorization: Bearer {key}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def p50_ms(client: httpx.Client, url: str, n: int = 200) -> float:
    times = []
    for _ in range(n):
        began = time.perf_counter()
        client.get(url).raise_for_status()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu_percent(pid: int, seconds: int) -> float:
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / seconds


def compare_with_bare(args: argparse.Namespace, base: str, key: str, paths: dict[str, str]) -> None:
    """req/s of each path on ftgate, then on a bare app answering ftgate's body for it."""
    bodies = {
        name: httpx.get(base + path, headers={"authorization": f"Bearer {key}"}).content
        for name, path in paths.items()
    }
    ours = {
        name: [requests_per_second(base + path, key, args.seconds) for _ in range(args.repeats)]
        for name, path in paths.items()
    }
    print(f"{'read':<12}{'ftgate req/s':>16}{'bare req/s':>14}{'ratio':>9}")
    for name, path in paths.items():
        port = free_port()
        env = {**os.environ, "BARE_BODY": bodies[name].decode(), "PYTHONPATH": ""}
        bare_app = [
            sys.executable,
            "-c",
            BARE_APP
            + f"\nimport uvicorn; uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning')",
        ]
        with started(bare_app, env, port):
            bare = [
                requests_per_second(f"http://127.0.0.1:{port}{path}", key, args.seconds)
                for _ in range(args.repeats)
            ]
        mine, theirs = statistics.median(ours[name]), statistics.median(bare)
        print(f"{name:<12}{mine:>16.0f}{theirs:>14.0f}{mine / theirs:>9.1%}   ({len(bodies[name])} bytes)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--seconds", type=int, default=4, help="wrk duration per figure")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--idle-seconds", type=int, default=20)
    parser.add_argument(
        "--quick", action="store_true", help="1k and 10k jobs, 2 s per figure once, 5 s of idle CPU"
    )
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.seconds, args.repeats, args.idle_seconds = [1_000, 10_000], 2, 1, 5
    with tempfile.TemporaryDirectory() as folder, database(args.database, Path(folder)) as url:
        run(args, url, Path(folder))


def run(args: argparse.Namespace, database_url: str, folder: Path) -> None:
    env = {**os.environ, "FTGATE_DATA_DIR": str(folder / "data"), "FTGATE_DATABASE_URL": database_url}
    subprocess.run([FTGATE, "migrate"], env=env, check=True, capture_output=True)
    keys = {
        project: subprocess.run(
            [FTGATE, "keys", "create", "--project", project],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
        for project in ("crowd", "small")
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = [FTGATE, "serve", "--port", str(port), "--log-level", "warning", "--no-migrate"]
    print(f"database: {args.database}; wrk -t1 -c8, {args.seconds} s x {args.repeats}, medians")
    seeded = 0
    p50s: dict[int, float] = {}
    for size in sorted(args.sizes):
        asyncio.run(add_jobs(database_url, "crowd", seeded, size - seeded, NOW - 10_000_000 + seeded))
        if not seeded:
            asyncio.run(add_jobs(database_url, "small", 10_000_000, SMALL_PROJECT_JOBS, NOW - 20_000_000))
            asyncio.run(add_events(database_url, "ftjob-bench0"))
        seeded = size
        with (
            started(serve, env, port) as server,
            httpx.Client(base_url=base, headers={"authorization": f"Bearer {keys['small']}"}) as client,
        ):
            if size == min(args.sizes):
                print(f"\nreads with {size} jobs in the database:")
                compare_with_bare(
                    args,
                    base,
                    keys["crowd"],
                    {
                        "get job": "/v1/fine_tuning/jobs/ftjob-bench0",
                        "list jobs": "/v1/fine_tuning/jobs?limit=20",
                        "list events": "/v1/fine_tuning/jobs/ftjob-bench0/events?limit=20",
                    },
                )
                print()
            p50s[size] = p50_ms(client, "/v1/fine_tuning/jobs?limit=20")
            idle = idle_cpu_percent(server.pid, args.idle_seconds)
        smallest = p50s[min(p50s)]
        print(
            f"{size:>9} jobs: list p50 of a small project {p50s[size]:6.2f} ms"
            f" ({p50s[size] / smallest:4.2f} x at {min(p50s)}), idle server CPU {idle:5.1f} %"
        )


if __name__ == "__main__":
    main()
