"""Projects (tenants) and their API keys. Keys are stored as SHA-256 hashes and shown once."""

import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import ids
from gateway.budgets import limits
from gateway.budgets.limits import Limits
from gateway.hot_reads.reader import Query, Reader
from gateway.models import ApiKey, Project


@dataclass(frozen=True)
class Caller:
    """Who is calling: every query of a request is scoped to `project_id`. The operator acting
    in a project (replacing or comparing a model) calls with no key and the project's limits."""

    project_id: str
    organization_id: str
    org_slug: str
    key_id: str | None
    project_limits: Limits = limits.NO_LIMITS
    key_limits: Limits = limits.NO_LIMITS
    operator: str | None = None

    @property
    def actor(self) -> str:
        """Who the audit log names: the key, or the operator (`admin`, `cli`)."""
        return self.key_id or self.operator or "operator"

    @property
    def rate_limit_key(self) -> str:
        return self.key_id or f"{self.project_id}:operator"


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def key_hint(secret: str) -> str:
    return f"{secret[:10]}***{secret[-4:]}"


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "project"


async def add_project(session: AsyncSession, name: str) -> Project:
    """Raises IntegrityError when the name is taken."""
    project = Project(
        id=ids.new_project_id(),
        name=name,
        slug=slugify(name),
        organization_id=ids.new_organization_id(),
        created_at=int(time.time()),
    )
    session.add(project)
    await session.flush()
    return project


async def get_or_create_project(session: AsyncSession, name: str) -> Project:
    project = await session.scalar(select(Project).where(Project.name == name))
    return project if project is not None else await add_project(session, name)


async def create_key(
    session: AsyncSession, project: Project, name: str | None = None, limits: dict[str, Any] | None = None
) -> tuple[ApiKey, str]:
    """Create a key for `project`; returns it with its secret, of which only the hash is kept."""
    secret = ids.new_api_key()
    key = ApiKey(
        id="key_" + ids.random_base62(24),
        project_id=project.id,
        key_hash=hash_key(secret),
        key_hint=key_hint(secret),
        name=name,
        created_at=int(time.time()),
        revoked_at=None,
        limits=limits,
    )
    session.add(key)
    await session.flush()
    return key, secret


async def find_caller(session: AsyncSession, key_hash: str) -> Caller | None:
    """The caller of the unrevoked key whose secret hashes to `key_hash` (see `hash_key`)."""
    return await _caller(session, ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))


async def caller_of_key(session: AsyncSession, key_id: str) -> Caller | None:
    """Who made a request earlier, for work done later on its behalf (an eval run's items)."""
    return await _caller(session, ApiKey.id == key_id)


async def operator_caller(
    session: AsyncSession, project_id: str, operator: str | None = None
) -> Caller | None:
    """The operator acting in a project: bound by the project's limits only."""
    project = await session.get(Project, project_id)
    if project is None:
        return None
    return Caller(
        project_id=project.id,
        organization_id=project.organization_id,
        org_slug=project.slug,
        key_id=None,
        project_limits=limits.parse(project.limits),
        operator=operator,
    )


def _caller_query(*conditions: Any) -> Select[Any]:
    return (
        select(
            ApiKey.id.label("key_id"),
            Project.id.label("project_id"),
            Project.organization_id.label("organization_id"),
            Project.slug.label("slug"),
            Project.limits.label("project_limits"),
            ApiKey.limits.label("key_limits"),
        )
        .join(Project, Project.id == ApiKey.project_id)
        .where(*conditions)
    )


def _caller_of(row: Any) -> Caller:
    return Caller(
        project_id=row.project_id,
        organization_id=row.organization_id,
        org_slug=row.slug,
        key_id=row.key_id,
        project_limits=limits.parse(row.project_limits),
        key_limits=limits.parse(row.key_limits),
    )


async def _caller(session: AsyncSession, *conditions: Any) -> Caller | None:
    row = (await session.execute(_caller_query(*conditions))).one_or_none()
    return None if row is None else _caller_of(row)


_KEY_IS_LIVE = (ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None))
CALLER_OF_KEY_HASH = Query("CallerRow", _caller_query(*_KEY_IS_LIVE))
# The project of the live key whose hash is the `key_hash` parameter, inside another statement.
PROJECT_OF_KEY_HASH = select(ApiKey.project_id).where(*_KEY_IS_LIVE).scalar_subquery()


async def read_caller(reader: Reader, key_hash: str) -> Caller | None:
    """`find_caller` through a hot reader (raises ReadFailed)."""
    rows = await reader.raw_rows(CALLER_OF_KEY_HASH, key_hash=key_hash)
    return caller_of_values(rows[0]) if rows else None


def caller_of_values(values: Sequence[Any]) -> Caller:
    """The caller in a raw row of CALLER_OF_KEY_HASH."""
    return _caller_of(CALLER_OF_KEY_HASH.row(values))
