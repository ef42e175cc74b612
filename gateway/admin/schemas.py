"""Wire shapes of the admin API (ftgate's own; OpenAI's objects are never reshaped)."""

from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.budgets.limits import Limits
from gateway.budgets.limits import parse as parse_limits
from gateway.budgets.spent import Spent, spent
from gateway.models import ApiKey, AuditEntry, Project
from gateway.text import StoredText


class ProjectCreate(BaseModel):
    name: StoredText = Field(min_length=1, max_length=200)
    limits: Limits = Field(default_factory=Limits)


class KeyCreate(BaseModel):
    name: StoredText | None = Field(default=None, max_length=200)
    limits: Limits = Field(default_factory=Limits)


class AdminProject(BaseModel):
    object: Literal["admin.project"] = "admin.project"
    id: str
    name: str
    slug: str
    created_at: int
    limits: Limits
    spent: Spent = Field(description="what the project holds against its limits now")

    @classmethod
    async def of(cls, session: AsyncSession, project: Project) -> "AdminProject":
        limits = parse_limits(project.limits)
        return cls(
            id=project.id,
            name=project.name,
            slug=project.slug,
            created_at=project.created_at,
            limits=limits,
            spent=await spent(session, project.id, None, limits),
        )


class AdminApiKey(BaseModel):
    object: Literal["admin.api_key"] = "admin.api_key"
    id: str
    project_id: str
    name: str | None
    redacted_value: str
    created_at: int
    revoked_at: int | None
    limits: Limits
    spent: Spent = Field(description="what the key holds against its own limits now")
    value: str | None = Field(default=None, description="the secret, in the answer that created the key only")

    @classmethod
    async def of(cls, session: AsyncSession, key: ApiKey, secret: str | None = None) -> "AdminApiKey":
        limits = parse_limits(key.limits)
        return cls(
            id=key.id,
            project_id=key.project_id,
            name=key.name,
            redacted_value=key.key_hint,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
            limits=limits,
            spent=await spent(session, key.project_id, key.id, limits),
            value=secret,
        )


class AdminAuditEntry(BaseModel):
    object: Literal["admin.audit_entry"] = "admin.audit_entry"
    id: str
    created_at: int
    actor: str
    action: str
    project_id: str | None
    object_id: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> "AdminAuditEntry":
        return cls(
            id=entry.id,
            created_at=entry.created_at,
            actor=entry.actor,
            action=entry.action,
            project_id=entry.project_id,
            object_id=entry.object_id,
            details=entry.details,
        )
