"""The Alembic migrations on both databases: the newest schema is the models' to the column and
index, 0013 carries an upstream job's state from its job's columns into its mirror and back, and
0014 keeps one job per upstream job."""

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from alembic import command
from gateway import db, migrations
from gateway.models import Base
from tests.support.postgres import temporary_database

PROJECT = "proj_migrations"
JOB_COLUMNS = (
    "id, project_id, organization_id, model, base_model, training_file, status, created_at, "
    "updated_at, method, seed, result_files, provider, imported_from, upstream_id"
)
MIRRORED = (
    "upstream_status",
    "upstream_submitted_at",
    "upstream_event_cursor",
    "upstream_failures",
    "upstream_looked_at_ms",
    "next_look_at_ms",
)
# Jobs as a database at 0012 holds them: (id, status, provider, imported_from, upstream_id) and
# their upstream columns.
MID_FLIGHT = (
    ("ftjob-flying", "running", "openai", None, "ftjob-up1"),
    ("running", 1_700_000_000, "evt-9", 2, 1_700_000_100_000, 1_700_000_160_000),
)
FINISHED = (
    ("ftjob-done", "succeeded", "openai", None, "ftjob-up2"),
    ("succeeded", 1_600_000_000, "evt-3", 0, 1_600_000_100_000, None),
)
LOCAL = (("ftjob-local", "running", "local", None, None), (None, None, None, 0, None, None))
IMPORTED = (
    ("ftjob-old", "succeeded", "openai", "https://api.openai.com/v1", "ftjob-old"),
    ("succeeded", None, None, 0, None, None),
)
NEVER_SCHEDULED = (("ftjob-unsent", "queued", "openai", None, None), (None, None, None, 0, None, None))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            yield f"sqlite+aiosqlite:///{tmp_path / 'ftgate.db'}"
        else:
            yield stack.enter_context(temporary_database())


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations.ALEMBIC_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def on_connection(database_url: str, work: Any) -> Any:
    """`work(connection)` on a synchronous connection of the database, committed."""

    async def run() -> Any:
        engine = db.create_engine(database_url)
        try:
            async with engine.begin() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def test_the_newest_schema_is_the_models(database_url: str):
    migrations.upgrade(database_url)
    assert on_connection(database_url, schema_differences) == []


def add_jobs_at_0012(connection: Connection) -> None:
    connection.execute(
        text(
            "INSERT INTO projects (id, name, slug, organization_id, created_at, ledger_version) "
            "VALUES (:id, :id, :id, 'org-m', 1, 0)"
        ),
        {"id": PROJECT},
    )
    for (job_id, status, provider, imported_from, upstream_id), mirrored in (
        MID_FLIGHT,
        FINISHED,
        LOCAL,
        IMPORTED,
        NEVER_SCHEDULED,
    ):
        connection.execute(
            text(
                f"INSERT INTO fine_tuning_jobs ({JOB_COLUMNS}, {', '.join(MIRRORED)}) VALUES (:id, "
                f":project, 'org-m', 'gpt-4o-mini', 'gpt-4o-mini', 'file-t', :status, 1, 1, '{{}}', 7, "
                f"'[]', :provider, :imported_from, :upstream_id, {', '.join(':' + c for c in MIRRORED)})"
            ),
            {
                "id": job_id,
                "project": PROJECT,
                "status": status,
                "provider": provider,
                "imported_from": imported_from,
                "upstream_id": upstream_id,
            }
            | dict(zip(MIRRORED, mirrored, strict=True)),
        )


def rows(query: str) -> Any:
    def read(connection: Connection) -> dict[str, tuple[Any, ...]]:
        return {row[0]: tuple(row[1:]) for row in connection.execute(text(query))}

    return read


def test_0013_keeps_an_upstream_job_in_mid_flight_and_gives_it_back_on_downgrade(database_url: str):
    config = alembic_config(database_url)
    command.upgrade(config, "0012")
    on_connection(database_url, add_jobs_at_0012)

    command.upgrade(config, "0013")
    mirrors = on_connection(
        database_url, rows(f"SELECT job_id, {', '.join(MIRRORED)} FROM fine_tuning_job_mirrors")
    )
    assert mirrors == {
        "ftjob-flying": MID_FLIGHT[1],
        "ftjob-done": FINISHED[1],
        # Never scheduled and still to send: due at once, as the due-look query took it before.
        "ftjob-unsent": (None, None, None, 0, None, 0),
    }

    command.downgrade(config, "0012")
    jobs = on_connection(database_url, rows(f"SELECT id, {', '.join(MIRRORED)} FROM fine_tuning_jobs"))
    assert jobs == {
        "ftjob-flying": MID_FLIGHT[1],
        "ftjob-done": FINISHED[1],
        "ftjob-local": LOCAL[1],
        "ftjob-old": IMPORTED[1],
        "ftjob-unsent": (None, None, None, 0, None, 0),
    }
    command.upgrade(config, "head")
    assert on_connection(database_url, schema_differences) == []


def test_0014_lets_one_job_claim_an_upstream_job_and_any_number_none(database_url: str):
    config = alembic_config(database_url)
    command.upgrade(config, "0012")
    on_connection(database_url, add_jobs_at_0012)
    command.upgrade(config, "0014")

    def add_job(job_id: str, provider: str, upstream_id: str | None) -> Any:
        def add(connection: Connection) -> None:
            connection.execute(
                text(
                    "INSERT INTO fine_tuning_jobs (id, project_id, organization_id, model, base_model, "
                    "training_file, status, created_at, updated_at, method, seed, result_files, provider, "
                    "upstream_id) VALUES (:id, :project, 'org-m', 'm', 'm', 'file-t', 'queued', 1, 1, '{}', "
                    "7, '[]', :provider, :upstream_id)"
                ),
                {"id": job_id, "project": PROJECT, "provider": provider, "upstream_id": upstream_id},
            )

        return add

    on_connection(database_url, add_job("ftjob-local-2", "local", None))
    on_connection(database_url, add_job("ftjob-elsewhere", "together", "ftjob-up1"))
    with pytest.raises(IntegrityError):
        on_connection(database_url, add_job("ftjob-twin", "openai", "ftjob-up1"))
