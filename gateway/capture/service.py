"""The operator's actions on captures; each change is written to the audit log."""

import time

from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit, ids
from gateway.admin.service import get_project
from gateway.capture import repository
from gateway.capture.schemas import DEFAULTS, CaptureChanges
from gateway.capture.tally import Tally
from gateway.errors import NotFound
from gateway.models import Capture

CAPS = ("max_examples", "max_bytes")


def not_found(project_id: str, model: str) -> NotFound:
    return NotFound(f"Project {project_id} has no capture for the model `{model}`.", param="model")


async def enable(
    session: AsyncSession, actor: str, project_id: str, model: str, changes: CaptureChanges
) -> Capture:
    """Turn capture on (a new one gets the defaults for what `changes` leaves out)."""
    await get_project(session, project_id)
    capture = await repository.get(session, project_id, model)
    if capture is None:
        capture = _new(project_id, model)
        session.add(capture)
    was_enabled = capture.enabled
    capture.enabled = True
    _apply(capture, changes)
    action = "capture.updated" if was_enabled else "capture.enabled"
    _audit(session, actor, action, capture, changes)
    return capture


async def update(
    session: AsyncSession, actor: str, project_id: str, model: str, changes: CaptureChanges
) -> Capture:
    capture = await status(session, project_id, model)
    _apply(capture, changes)
    _audit(session, actor, "capture.updated", capture, changes)
    return capture


async def disable(session: AsyncSession, actor: str, project_id: str, model: str) -> Capture:
    """Recording stops; the files and totals stay (enabling again goes on with them)."""
    capture = await status(session, project_id, model)
    if capture.enabled:
        capture.enabled = False
        capture.updated_at = int(time.time())
        _audit(session, actor, "capture.disabled", capture, CaptureChanges())
    return capture


async def status(session: AsyncSession, project_id: str, model: str) -> Capture:
    await get_project(session, project_id)
    capture = await repository.get(session, project_id, model)
    if capture is None:
        raise not_found(project_id, model)
    return capture


async def of_project(session: AsyncSession, project_id: str) -> list[Capture]:
    await get_project(session, project_id)
    return await repository.of_project(session, project_id)


def _new(project_id: str, model: str) -> Capture:
    now = int(time.time())
    return Capture(
        id="capture_" + ids.random_base62(24),
        project_id=project_id,
        model=model,
        enabled=False,
        created_at=now,
        updated_at=now,
        training_file_id=None,
        held_out_file_id=None,
        training_examples=0,
        held_out_examples=0,
        training_bytes=0,
        held_out_bytes=0,
        tally=Tally().to_dict(),
        capped_at=None,
        version=0,
        **DEFAULTS | {"drop_fields": []},
    )


def _apply(capture: Capture, changes: CaptureChanges) -> None:
    given = changes.given()
    for name, value in given.items():
        setattr(capture, name, value)
    if any(cap in given for cap in CAPS):
        capture.capped_at = None  # new caps: capture goes on if they leave room
    capture.updated_at = int(time.time())


def _audit(session: AsyncSession, actor: str, action: str, capture: Capture, changes: CaptureChanges) -> None:
    audit.record(
        session,
        actor,
        action,
        project_id=capture.project_id,
        object_id=capture.id,
        details={"model": capture.model, "changed": sorted(changes.given()), **_settings(capture)},
    )


def _settings(capture: Capture) -> dict[str, object]:
    return {name: getattr(capture, name) for name in ("enabled", *DEFAULTS)}
