"""A throw-away PostgreSQL database on the local server (127.0.0.1:5432, trust auth)."""

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from tests.support.blocking import wait_for

ADMIN_DSN = os.environ.get("FTGATE_TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _execute(sql: str) -> None:
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextmanager
def temporary_database() -> Iterator[str]:
    """Yields an SQLAlchemy URL of a new, empty database, dropped afterwards."""
    name = f"ftgate_test_{secrets.token_hex(4)}"
    wait_for(_execute(f'CREATE DATABASE "{name}"'))
    try:
        host_part = ADMIN_DSN.split("://", 1)[1].rsplit("/", 1)[0]
        yield f"postgresql+asyncpg://{host_part}/{name}"
    finally:
        wait_for(_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
