"""Rows of a few hot SELECTs straight from the database driver, with no session around them.

A `Query` is a SQLAlchemy Core statement with named parameters, compiled once per database; its
rows carry the names its columns were labelled with. SQLite is read inline on the event loop
through the sqlite3 module: an indexed read of a WAL database takes microseconds, less than
handing it to a thread, and never waits for a writer (a busy timeout of 0 makes a locked
database an error at once). PostgreSQL is read through a small asyncpg pool of its own. Both
connections are read-only. Any failure is `ReadFailed`: the caller then takes the ordinary path,
which waits, retries and answers errors as every other request does.

A `JoinedRead` is a row (who calls, say) and the rows of a page that depends on it, both found by
the same parameters: PostgreSQL reads them in one statement, the first row joined to each row of
the page, so a request waits on one round trip; SQLite in two, as a join would first copy the
page into a temporary table, which costs more than a second statement read inline.
"""

import asyncio
import sqlite3
from abc import ABC, abstractmethod
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import asyncpg
import pydantic_core
from sqlalchemy import JSON, Select, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url

POOL_SIZE = 4
DIALECTS: dict[str, Dialect] = {"sqlite": sqlite.dialect(), "postgresql": postgresql.asyncpg.dialect()}


class ReadFailed(Exception):
    """The database could not answer at once (locked, unreachable, not migrated yet)."""


class Query:
    def __init__(self, name: str, statement: Select[Any]) -> None:
        columns = list(statement.selected_columns)
        self.width = len(columns)
        # Renamed where two columns share a name (a join's): such a query's rows are read in parts.
        self.row_type = namedtuple(name, [column.key for column in columns], rename=True)  # type: ignore[misc]
        self._json_fields = [index for index, column in enumerate(columns) if isinstance(column.type, JSON)]
        self.statement = statement
        self._compiled: dict[str, tuple[str, Sequence[str], dict[str, Any]]] = {}

    def sql(self, database: str, params: dict[str, Any]) -> tuple[str, list[Any]]:
        """The SQL text for `database` and its parameters' values in order: `params`, and the
        values the statement holds itself (SQLite's `OFFSET 0`)."""
        if database not in self._compiled:
            compiled = self.statement.compile(dialect=DIALECTS[database])
            self._compiled[database] = (str(compiled), compiled.positiontup or (), compiled.params)
        sql, names, own = self._compiled[database]
        return sql, [params[name] if name in params else own[name] for name in names]

    def row(self, values: Sequence[Any]) -> Any:
        """A row of this query's columns from the driver's values, its JSON columns decoded."""
        decoded = list(values)
        for index in self._json_fields:
            if isinstance(decoded[index], str):
                decoded[index] = pydantic_core.from_json(decoded[index])
        return self.row_type(*decoded)


class JoinedRead:
    def __init__(self, name: str, first: Select[Any], page: Select[Any]) -> None:
        """`first` finds at most one row; `page`'s first column is `seq`, its order newest first."""
        self.first = Query(f"{name}First", first)
        self.page = Query(f"{name}Page", page)
        first_row, page_rows = first.subquery("first"), page.subquery("page")
        joined = (
            select(first_row, page_rows)
            .select_from(first_row.outerjoin(page_rows, true()))
            .order_by(page_rows.c.seq.desc())
        )
        self.joined = Query(name, joined)


class Reader(ABC):
    @abstractmethod
    async def raw_rows(self, query: Query, **params: Any) -> list[tuple[Any, ...]]:
        """Each row's values as the driver hands them over, JSON columns as text: a row's whole
        content, hashable. Raises ReadFailed."""

    async def joined_rows(
        self, read: JoinedRead, **params: Any
    ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]] | None:
        """The first row and the page's rows; None where there is no first row. Raises ReadFailed."""
        found = await self.raw_rows(read.joined, **params)
        if not found:
            return None
        width = read.first.width
        return found[0][:width], [values[width:] for values in found if values[width] is not None]

    @abstractmethod
    async def close(self) -> None: ...


class SqliteReader(Reader):
    def __init__(self, path: str) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None

    async def raw_rows(self, query: Query, **params: Any) -> list[tuple[Any, ...]]:
        sql, values = query.sql("sqlite", params)
        try:
            return self._connect().execute(sql, values).fetchall()
        except sqlite3.Error as error:
            raise ReadFailed(str(error)) from error

    async def joined_rows(
        self, read: JoinedRead, **params: Any
    ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]] | None:
        first = await self.raw_rows(read.first, **params)
        return (first[0], await self.raw_rows(read.page, **params)) if first else None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self._path, timeout=0, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA query_only = ON")
            self._connection = connection
        return self._connection

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class PostgresReader(Reader):
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def raw_rows(self, query: Query, **params: Any) -> list[tuple[Any, ...]]:
        sql, values = query.sql("postgresql", params)
        try:
            found = await (await self._connect()).fetch(sql, *values)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            raise ReadFailed(str(error)) from error
        return [tuple(record) for record in found]

    async def _connect(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=1,
                        max_size=POOL_SIZE,
                        # Each statement is planned once per connection, not per run: their
                        # generic plans read through the indexes that scope them (held by
                        # tests/integration/test_hot_read_plans.py), and PostgreSQL would
                        # otherwise plan a statement with subqueries anew on every run.
                        server_settings={
                            "default_transaction_read_only": "on",
                            "plan_cache_mode": "force_generic_plan",
                        },
                        reset=_nothing_to_reset,
                    )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _nothing_to_reset(_: asyncpg.Connection) -> None:
    """Single read-only statements leave no session state behind: no reset query per release."""


def build_reader(database_url: str) -> Reader | None:
    """None for a database that another connection cannot see (SQLite in memory)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return SqliteReader(url.database) if url.database not in (None, "", ":memory:") else None
    return PostgresReader(url.set(drivername="postgresql").render_as_string(hide_password=False))
