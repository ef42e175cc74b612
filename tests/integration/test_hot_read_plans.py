"""PostgreSQL reads a hot page from the index that scopes it, whatever plan it makes: a small
project's page among many jobs of another project, and a quiet job's events beside a busy one's,
never walk the primary key backwards."""

import json
from collections.abc import Iterator

import asyncpg
import pytest

from gateway import migrations
from gateway.fine_tuning.hot_reads import EVENTS, EVENTS_AFTER, JOBS, JOBS_AFTER
from gateway.hot_reads.reader import JoinedRead
from gateway.projects import hash_key
from tests.support.blocking import wait_for
from tests.support.postgres import temporary_database

pytestmark = pytest.mark.postgres

CROWD_JOBS = 20_000
SMALL_JOBS = 20
BUSY_EVENTS = 20_000
PAGE_INDEXES = {"ix_fine_tuning_jobs_project_seq", "ix_fine_tuning_job_events_job_seq"}
METHOD = json.dumps({"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}})

SEED = f"""
INSERT INTO projects (id, name, slug, organization_id, created_at)
VALUES ('proj-crowd', 'crowd', 'crowd', 'org-crowd', 0), ('proj-small', 'small', 'small', 'org-small', 0);
INSERT INTO api_keys (id, project_id, key_hash, key_hint, created_at)
VALUES ('key-crowd', 'proj-crowd', '{hash_key("crowd")}', 'c', 0),
       ('key-small', 'proj-small', '{hash_key("small")}', 's', 0);
-- The small project's jobs are the oldest: a walk down the primary key meets every crowd job first.
INSERT INTO fine_tuning_jobs (
    id, project_id, organization_id, model, base_model, training_file, status, created_at,
    updated_at, method, seed, result_files, provider
)
SELECT 'ftjob-' || i, CASE WHEN i < {SMALL_JOBS} THEN 'proj-small' ELSE 'proj-crowd' END,
       'org', 'm', 'm', 'file-t', 'succeeded', i, i, '{METHOD}', 1, '[]', 'local'
FROM generate_series(0, {SMALL_JOBS + CROWD_JOBS - 1}) AS i;
-- Job 0 (the small project's) has three old events; a crowd job has many newer ones.
INSERT INTO fine_tuning_job_events (id, job_id, created_at, level, message, data, type)
SELECT 'ftevent-' || i, CASE WHEN i < 3 THEN 'ftjob-0' ELSE 'ftjob-{SMALL_JOBS}' END,
       i, 'info', 'Step', '{{}}', 'message'
FROM generate_series(0, {BUSY_EVENTS + 2}) AS i;
ANALYZE;
"""


@pytest.fixture(scope="module")
def dsn() -> Iterator[str]:
    with temporary_database() as url:
        migrations.upgrade(url)
        plain = url.replace("postgresql+asyncpg://", "postgresql://")
        wait_for(_execute(plain, SEED))
        yield plain


async def _execute(dsn: str, sql: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _indexes_read(dsn: str, read: JoinedRead, params: dict[str, object], plan_mode: str) -> set[str]:
    """The indexes through which the plan of `read` (its one statement, as PostgreSQL reads it)
    reads pages of jobs and events, with plans made as `plan_mode` says (a custom plan knows the
    values; a generic plan, which a prepared statement switches to after five runs, does not)."""
    sql, values = read.joined.sql("postgresql", params)
    connection = await asyncpg.connect(dsn, server_settings={"plan_cache_mode": plan_mode})
    try:
        await connection.execute(f"PREPARE hot AS {sql}")
        literals = ", ".join(_literal(value) for value in values)
        plan = json.loads(await connection.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE hot({literals})"))
    finally:
        await connection.close()
    return {
        node.get("Index Name", node["Node Type"])
        for node in _nodes(plan[0]["Plan"])
        if node.get("Relation Name") in ("fine_tuning_jobs", "fine_tuning_job_events")
        and node.get("Index Name") != "uq_fine_tuning_jobs_id"  # a job looked up by its id
        and node.get("Index Name") != "uq_fine_tuning_job_events_id"
    }


def _nodes(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def _literal(value: object) -> str:
    return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"


PAGES = [
    ("small project's jobs", JOBS, {"key_hash": hash_key("small"), "limit": 21}),
    (
        "small project's jobs after one",
        JOBS_AFTER,
        {"key_hash": hash_key("small"), "after": "ftjob-15", "limit": 21},
    ),
    ("crowd's jobs", JOBS, {"key_hash": hash_key("crowd"), "limit": 21}),
    ("quiet job's events", EVENTS, {"key_hash": hash_key("small"), "job_id": "ftjob-0", "limit": 21}),
    (
        "quiet job's events after one",
        EVENTS_AFTER,
        {"key_hash": hash_key("small"), "job_id": "ftjob-0", "after": "ftevent-2", "limit": 21},
    ),
]


@pytest.mark.parametrize("plan_mode", ["force_custom_plan", "force_generic_plan"])
@pytest.mark.parametrize(("page", "read", "params"), PAGES, ids=[page[0] for page in PAGES])
def test_a_page_is_read_through_its_scoping_index(
    dsn: str, plan_mode: str, page: str, read: JoinedRead, params: dict[str, object]
) -> None:
    assert wait_for(_indexes_read(dsn, read, params, plan_mode)) <= PAGE_INDEXES
