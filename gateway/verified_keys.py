"""Callers of API keys verified recently, so a request need not look its key up in the database.

An entry is trusted only while the *key generation* it was stored under is still current. Every
transaction that changes a key or a project (a revocation, new limits) changes the generation
once it has committed, wherever it ran: the admin API on any replica, or an operator's command.
Each request reads the generation first (one Redis GET, or a small file in the data folder for
a single host), so a revoked key fails on its very next request on every replica. The generation
is read before the database lookup whose result is stored under it: a change committed during the
lookup leaves that entry already stale. Failed lookups are never stored, and an entry lives at
most `ttl_seconds` in any case.

Where no generation can be shared (PostgreSQL without Redis: replicas on hosts that share
nothing) the cache is off and every request looks its key up.
"""

import logging
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

import redis.asyncio as redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from gateway import db
from gateway.models import ApiKey, Project
from gateway.projects import Caller
from gateway.settings import Settings

log = logging.getLogger(__name__)

MAX_ENTRIES = 10_000
REDIS_TIMEOUT_SECONDS = 0.5
REDIS_PAUSE_SECONDS = 5.0
GENERATION_KEY = "ftgate:keys:generation"


class Generation(Protocol):
    async def read(self) -> str | None:
        """The current generation; None when it cannot be known (trust no entry)."""

    async def change(self) -> None: ...


class FileGeneration:
    """A random token in a file of the data folder, replaced whole by each change."""

    def __init__(self, path: Path) -> None:
        self._path = path

    async def read(self) -> str | None:
        try:
            return self._path.read_text()
        except FileNotFoundError:
            return ""
        except OSError:
            return None

    async def change(self) -> None:
        staged = self._path.with_name(f"{self._path.name}.{secrets.token_hex(8)}")
        staged.write_text(secrets.token_hex(16))
        os.replace(staged, self._path)


class RedisGeneration:
    """A counter in Redis shared by every replica; a sick Redis is left alone for a few seconds."""

    def __init__(self, url: str, key: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), retries=1),
        )
        self._key = key
        self._clock = clock
        self._paused_until = float("-inf")

    async def read(self) -> str | None:
        if self._clock() < self._paused_until:
            return None
        try:
            value = await self._redis.get(self._key)
        except redis.RedisError as error:
            self._paused_until = self._clock() + REDIS_PAUSE_SECONDS
            log.warning("keys are looked up in the database: Redis did not answer (%s)", error)
            return None
        return value.decode() if value is not None else ""

    async def change(self) -> None:
        # Raises on a Redis error: the change has committed but replicas might still trust the
        # key, so the operator must hear of it.
        await self._redis.incr(self._key)

    async def close(self) -> None:
        await self._redis.aclose()


class VerifiedKeys:
    def __init__(
        self,
        generation: Generation | None,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._generation = generation if ttl_seconds > 0 else None
        self._ttl = ttl_seconds
        self._clock = clock
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[str, float, Caller]] = OrderedDict()

    async def caller(self, key_hash: str, look_up: Callable[[], Awaitable[Caller | None]]) -> Caller | None:
        """The caller of the key whose hash is `key_hash`: `look_up` finds it when no entry is
        trusted."""
        if self._generation is None:
            return await look_up()
        generation = await self._generation.read()
        if generation is None:
            return await look_up()
        entry = self._entries.get(key_hash)
        now = self._clock()
        if entry is not None and entry[0] == generation and entry[1] > now:
            return entry[2]
        caller = await look_up()
        if caller is None:
            self._entries.pop(key_hash, None)
            return None
        self._entries[key_hash] = (generation, now + self._ttl, caller)
        self._entries.move_to_end(key_hash)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return caller

    async def changed(self) -> None:
        self._entries.clear()
        if self._generation is not None:
            await self._generation.change()

    def watch(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Change the generation after every transaction of `sessions` that wrote a key or a
        project."""

        def on_flush(session: Session, *_: object) -> None:
            if session.info.get("keys_changed"):
                return
            if any(isinstance(row, ApiKey | Project) for row in session.deleted) or any(
                _changes_callers(row) for row in session.dirty
            ):
                session.info["keys_changed"] = True
                db.after_commit(session, self.changed)

        event.listen(sessions.kw["sync_session_class"], "before_flush", on_flush)

    async def close(self) -> None:
        if isinstance(self._generation, RedisGeneration):
            await self._generation.close()


def _changes_callers(row: object) -> bool:
    """A change to a key or project that a cached `Caller` would not show (new keys and
    projects are no one's cached caller yet; a reservation's `ledger_version` is no change)."""
    if isinstance(row, ApiKey):
        return True
    state = inspect(row)
    return isinstance(row, Project) and any(
        state.attrs[name].history.has_changes() for name in ("limits", "slug", "organization_id")
    )


def build_verified_keys(settings: Settings) -> VerifiedKeys:
    if settings.rate_limiter == "redis" or settings.queue == "celery":
        generation: Generation | None = RedisGeneration(
            settings.redis_url, settings.redis_key_prefix + GENERATION_KEY
        )
    elif settings.database_url.startswith("sqlite"):
        generation = FileGeneration(settings.data_dir / "keys.generation")
    else:
        generation = None
    return VerifiedKeys(generation, settings.key_cache_seconds)
