"""The operator's actions on projects and keys; each one is written to the audit log."""

import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit, projects
from gateway.budgets.limits import Limits
from gateway.errors import InvalidRequest, NotFound
from gateway.models import ApiKey, AuditEntry, Project
from gateway.pagination import fetch_page, resolve_after
from gateway.time_window import within


async def create_project(session: AsyncSession, actor: str, name: str, limits: Limits) -> Project:
    taken = InvalidRequest(f"A project named '{name}' already exists.", param="name")
    if await session.scalar(select(Project.id).where(Project.name == name)) is not None:
        raise taken
    try:
        project = await projects.add_project(session, name)
    except IntegrityError:  # a racing create of the same name won; this transaction is rolled back
        raise taken from None
    project.limits = _stored(limits)
    audit.record(
        session, actor, "project.created", project_id=project.id, object_id=project.id, details={"name": name}
    )
    return project


async def list_projects(session: AsyncSession) -> list[Project]:
    return list((await session.scalars(select(Project).order_by(Project.created_at, Project.name))).all())


async def get_project(session: AsyncSession, project_id: str) -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound(f"No such project: {project_id}", param="project_id")
    return project


async def set_project_limits(session: AsyncSession, actor: str, project_id: str, limits: Limits) -> Project:
    project = await get_project(session, project_id)
    project.limits = _stored(limits)
    audit.record(
        session,
        actor,
        "project.limits_set",
        project_id=project_id,
        object_id=project_id,
        details=project.limits or {},
    )
    return project


async def create_key(
    session: AsyncSession, actor: str, project_id: str, name: str | None, limits: Limits
) -> tuple[ApiKey, str]:
    """A new key and its secret, which is never shown again."""
    project = await get_project(session, project_id)
    key, secret = await projects.create_key(session, project, name=name, limits=_stored(limits))
    audit.record(
        session, actor, "key.created", project_id=project_id, object_id=key.id, details={"name": name}
    )
    return key, secret


async def list_keys(session: AsyncSession, project_id: str) -> list[ApiKey]:
    await get_project(session, project_id)
    query = select(ApiKey).where(ApiKey.project_id == project_id).order_by(ApiKey.created_at, ApiKey.id)
    return list((await session.scalars(query)).all())


async def get_key(session: AsyncSession, key_id: str) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No such API key: {key_id}", param="key_id")
    return key


async def set_key_limits(session: AsyncSession, actor: str, key_id: str, limits: Limits) -> ApiKey:
    key = await get_key(session, key_id)
    key.limits = _stored(limits)
    audit.record(
        session,
        actor,
        "key.limits_set",
        project_id=key.project_id,
        object_id=key_id,
        details=key.limits or {},
    )
    return key


async def revoke_key(session: AsyncSession, actor: str, key_id: str) -> ApiKey:
    """Revoked keys are refused from the next request on; revoking twice changes nothing."""
    key = await get_key(session, key_id)
    if key.revoked_at is None:
        key.revoked_at = int(time.time())
        audit.record(session, actor, "key.revoked", project_id=key.project_id, object_id=key_id)
    return key


@dataclass(frozen=True)
class AuditFilter:
    """Entries of the project, by the actor, of the action, created in `[start, end)` (Unix
    seconds); None matches any."""

    project_id: str | None = None
    actor: str | None = None
    action: str | None = None
    start: int | None = None
    end: int | None = None


async def audit_log(
    session: AsyncSession, where: AuditFilter, after: str | None, limit: int
) -> tuple[list[AuditEntry], bool]:
    """Newest first."""
    query = select(AuditEntry)
    for column, value in (
        (AuditEntry.project_id, where.project_id),
        (AuditEntry.actor, where.actor),
        (AuditEntry.action, where.action),
    ):
        if value is not None:
            query = query.where(column == value)
    query = within(query, AuditEntry.created_at, where.start, where.end)
    after_seq = await resolve_after(session, after, partial(_audit_seq, where.project_id))
    return await fetch_page(session, query, AuditEntry.seq, after_seq=after_seq, limit=limit)


def _audit_seq(project_id: str | None, entry_id: str) -> Select[Any]:
    query = select(AuditEntry.seq).where(AuditEntry.id == entry_id)
    return query if project_id is None else query.where(AuditEntry.project_id == project_id)


def _stored(limits: Limits) -> dict[str, Any] | None:
    return limits.model_dump(exclude_defaults=True) or None
