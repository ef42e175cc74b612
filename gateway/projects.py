"""Projects (tenants) and their API keys. Keys are stored as SHA-256 hashes and shown once."""

import hashlib
import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import ids
from gateway.budgets import limits
from gateway.budgets.limits import Limits
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


async def _caller(session: AsyncSession, *conditions: Any) -> Caller | None:
    row = (
        await session.execute(
            select(
                ApiKey.id, Project.id, Project.organization_id, Project.slug, Project.limits, ApiKey.limits
            )
            .join(Project, Project.id == ApiKey.project_id)
            .where(*conditions)
        )
    ).one_or_none()
    if row is None:
        return None
    key_id, project_id, organization_id, slug, project_limits, key_limits = row
    return Caller(
        project_id=project_id,
        organization_id=organization_id,
        org_slug=slug,
        key_id=key_id,
        project_limits=limits.parse(project_limits),
        key_limits=limits.parse(key_limits),
    )
