"""The upstream jobs due for a look, picked among many finished ones: the due-look selection as
0012's schema and code had it (the anchor) next to 0013's, on the same jobs, with their plans.

    python bench/due_looks.py                           # 200,000 finished jobs, 20 due, SQLite
    python bench/due_looks.py --finished 2000000 --database postgres

A fresh database (a SQLite file in a temporary folder, or a throw-away PostgreSQL database) is
brought to 0012 and given `--finished` finished upstream jobs and `--due` jobs due for more than
a look (queued, never sent). Then, each round in a transaction rolled back:

- anchor (0012): the select the tick sent then, `next_look_at_ms <= now` or never scheduled
  (`next_look_at_ms IS NULL AND upstream_status IS NULL AND ...`), which every finished job
  matches on its first half, and the update of the jobs it picked;
- 0013: after `alembic upgrade` (timed), `scheduling.take_due_looks` and
  `scheduling.claim_due_looks` on the mirrors' index of next looks.

Prints the median of each, the query plans (EXPLAIN QUERY PLAN / EXPLAIN), and the plan of the
file-expiry sweep (`files.repository.expired`).
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from alembic.config import Config
from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from alembic import command

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway import db, migrations  # noqa: E402
from gateway.fine_tuning import scheduling  # noqa: E402
from gateway.models import JobMirror, StoredFile  # noqa: E402
from tests.support.postgres import temporary_database  # noqa: E402

ANCHOR_SELECT = """
SELECT id FROM fine_tuning_jobs
WHERE (next_look_at_ms <= :now_ms OR (next_look_at_ms IS NULL AND upstream_status IS NULL
       AND provider NOT IN ('local') AND status IN ('queued', 'running', 'paused')))
  AND imported_from IS NULL AND (locked_until IS NULL OR locked_until < :now)
  AND NOT (upstream_id IS NOT NULL AND upstream_status IS NOT NULL AND status IN ('queued', 'running')
           AND upstream_status IN ('validating_files', 'queued', 'running'))
LIMIT 1000
"""
ANCHOR_CLAIM = """
SELECT id FROM fine_tuning_jobs
WHERE next_look_at_ms <= :now_ms AND imported_from IS NULL AND (locked_until IS NULL OR locked_until < :now)
  AND upstream_id IS NOT NULL AND upstream_status IS NOT NULL AND status IN ('queued', 'running')
  AND upstream_status IN ('validating_files', 'queued', 'running')
ORDER BY next_look_at_ms LIMIT 100
"""
ANCHOR_UPDATE = "UPDATE fine_tuning_jobs SET next_look_at_ms = :next WHERE id IN ({ids})"
CHUNK = 5000


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--finished", type=int, default=200_000)
    parser.add_argument("--due", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    return parser.parse_args()


async def fill(engine: AsyncEngine, finished: int, due: int) -> None:
    """Jobs at 0012: `finished` succeeded upstream jobs (no next look) and `due` never sent."""
    insert = text(
        "INSERT INTO fine_tuning_jobs (id, project_id, organization_id, model, base_model, training_file, "
        "status, created_at, updated_at, method, seed, result_files, provider, upstream_id, "
        "upstream_status, upstream_failures, next_look_at_ms) VALUES (:id, 'proj_bench', 'org', "
        "'gpt-4o-mini', 'gpt-4o-mini', 'file-b', :status, 1, 1, '{}', 7, '[]', 'openai', :upstream_id, "
        ":upstream_status, 0, :next)"
    )
    file_insert = text(
        "INSERT INTO files (id, project_id, filename, purpose, bytes, created_at, expires_at, status, "
        "blob_key, sha256) VALUES (:id, 'proj_bench', 'f.jsonl', 'fine-tune', 1, 1, :expires_at, "
        "'processed', :id, '')"
    )
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO projects (id, name, slug, organization_id, created_at, ledger_version) "
                "VALUES ('proj_bench', 'bench', 'bench', 'org', 1, 0)"
            )
        )
        for start in range(0, finished, CHUNK):
            rows = [
                {
                    "id": f"ftjob-f{n}",
                    "status": "succeeded",
                    "upstream_id": f"up-{n}",
                    "upstream_status": "succeeded",
                    "next": None,
                }
                for n in range(start, min(start + CHUNK, finished))
            ]
            await connection.execute(insert, rows)
            files = [
                {"id": f"file-{n}", "expires_at": None if n % 2 else 2_000_000_000}
                for n in range(start, start + len(rows))
            ]
            await connection.execute(file_insert, files)
        rows = [
            {"id": f"ftjob-d{n}", "status": "queued", "upstream_id": None, "upstream_status": None, "next": 0}
            for n in range(due)
        ]
        await connection.execute(insert, rows)


async def timed(
    sessions: async_sessionmaker[AsyncSession], work: Callable[[AsyncSession], Awaitable[Any]]
) -> tuple[float, Any]:
    async with sessions() as session:
        started = time.perf_counter()
        found = await work(session)
        elapsed = time.perf_counter() - started
        await session.rollback()
    return elapsed, found


async def median_ms(
    sessions: async_sessionmaker[AsyncSession], rounds: int, work: Callable[[AsyncSession], Awaitable[Any]]
) -> tuple[float, int]:
    times, found = [], None
    for _ in range(rounds):
        elapsed, found = await timed(sessions, work)
        times.append(elapsed)
    return statistics.median(times) * 1000, len(found or [])


async def plan(engine: AsyncEngine, statement: Any, params: dict[str, Any] | None = None) -> str:
    dialect = engine.dialect
    if isinstance(statement, Select):
        sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    else:
        sql = statement
    explain = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    async with engine.connect() as connection:
        lines = (await connection.execute(text(explain + sql), params or {})).all()
    return "\n".join("    " + " ".join(str(cell) for cell in line[-1:]) for line in lines)


async def anchor(engine: AsyncEngine, rounds: int) -> tuple[float, int]:
    sessions = db.create_sessionmaker(engine)

    async def take(session: AsyncSession) -> list[str]:
        now_ms = int(time.time() * 1000)
        ids = list(
            (await session.scalars(text(ANCHOR_SELECT), {"now_ms": now_ms, "now": now_ms // 1000})).all()
        )
        if ids:
            listed = ", ".join(f"'{job_id}'" for job_id in ids)
            await session.execute(text(ANCHOR_UPDATE.format(ids=listed)), {"next": now_ms + 60_000})
        return ids

    return await median_ms(sessions, rounds, take)


async def current(engine: AsyncEngine, rounds: int) -> dict[str, tuple[float, int]]:
    sessions = db.create_sessionmaker(engine)

    async def take(session: AsyncSession) -> list[str]:
        return await scheduling.take_due_looks(session, int(time.time() * 1000), 60_000, 1000)

    async def claim(session: AsyncSession) -> list[Any]:
        return await scheduling.claim_due_looks(session, int(time.time() * 1000), 60, 60_000, 100)

    return {
        "take_due_looks": await median_ms(sessions, rounds, take),
        "claim_due_looks": await median_ms(sessions, rounds, claim),
    }


def alembic(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations.ALEMBIC_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


async def at_0012(database_url: str, args: argparse.Namespace) -> tuple[float, int, dict[str, str]]:
    engine = db.create_engine(database_url)
    try:
        started = time.perf_counter()
        await fill(engine, args.finished, args.due)
        print(
            f"{args.database}: {args.finished:,} finished upstream jobs and {args.due} due, "
            f"filled in {time.perf_counter() - started:.1f} s"
        )
        if engine.dialect.name == "postgresql":
            async with engine.begin() as connection:
                await connection.execute(text("ANALYZE"))
        anchor_ms, found = await anchor(engine, args.rounds)
        now_ms = int(time.time() * 1000)
        bounds = {"now_ms": now_ms, "now": now_ms // 1000}
        plans = {
            "take": await plan(engine, ANCHOR_SELECT, bounds),
            "claim": await plan(engine, ANCHOR_CLAIM, bounds),
        }
        return anchor_ms, found, plans
    finally:
        await engine.dispose()


async def at_0013(
    database_url: str, args: argparse.Namespace
) -> tuple[dict[str, tuple[float, int]], dict[str, str]]:
    engine = db.create_engine(database_url)
    try:
        if engine.dialect.name == "postgresql":
            async with engine.begin() as connection:
                await connection.execute(text("ANALYZE"))
        figures = await current(engine, args.rounds)
        now_ms = int(time.time() * 1000)
        due = scheduling._due(now_ms)
        plans = {
            "take_due_looks": await plan(engine, due.where(~scheduling._only_a_look()).limit(1000)),
            "claim_due_looks": await plan(
                engine, due.where(scheduling._only_a_look()).order_by(JobMirror.next_look_at_ms).limit(100)
            ),
            "files expired": await plan(
                engine, select(StoredFile).where(StoredFile.expires_at <= now_ms // 1000).limit(100)
            ),
        }
        return figures, plans
    finally:
        await engine.dispose()


def main() -> None:
    args = parse()
    with ExitStack() as stack:
        if args.database == "sqlite":
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            database_url = f"sqlite+aiosqlite:///{folder}/ftgate.db"
        else:
            database_url = stack.enter_context(temporary_database())
        config = alembic(database_url)
        command.upgrade(config, "0012")
        anchor_ms, anchor_found, anchor_plans = asyncio.run(at_0012(database_url, args))
        started = time.perf_counter()
        command.upgrade(config, "0013")
        upgrade_seconds = time.perf_counter() - started
        figures, plans = asyncio.run(at_0013(database_url, args))

    print(f"alembic upgrade 0012 -> 0013: {upgrade_seconds:.1f} s")
    print(f"{'':<28}{'median ms':>10}{'jobs':>7}")
    print(f"{'anchor: 0012 due-look take':<28}{anchor_ms:>10.2f}{anchor_found:>7}")
    for name, (ms, found) in figures.items():
        print(f"{'0013: ' + name:<28}{ms:>10.2f}{found:>7}")
    print(f"ratio anchor / 0013 take_due_looks: {anchor_ms / figures['take_due_looks'][0]:.0f}x")
    for name, text_plan in anchor_plans.items():
        print(f"plan, anchor {name} (0012):\n{text_plan}")
    for name, text_plan in plans.items():
        print(f"plan, {name} (0013):\n{text_plan}")


if __name__ == "__main__":
    main()
