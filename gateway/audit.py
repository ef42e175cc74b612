"""The audit log: who did what to which object, written in the transaction that did it."""

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway import ids
from gateway.models import AuditEntry

SYSTEM_ACTOR = "system"


def record(
    session: AsyncSession,
    actor: str,
    action: str,
    *,
    project_id: str | None,
    object_id: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            id="audit_" + ids.random_base62(24),
            created_at=int(time.time()),
            actor=actor,
            action=action,
            project_id=project_id,
            object_id=object_id,
            details=details or {},
        )
    )
