"""/admin/projects/{project_id}/captures: turn capture on, change it, turn it off, read its
status. The model is the rest of the path (model names may hold `/` and `:`)."""

from fastapi import APIRouter

from gateway.admin.auth import AdminDep
from gateway.admission import AdminRoute
from gateway.capture import service
from gateway.capture.schemas import AdminCapture, CaptureChanges
from gateway.deps import SessionDep
from gateway.openapi import errors
from gateway.pagination import ListPage

router = APIRouter(prefix="/admin/projects/{project_id}/captures", tags=["admin"], route_class=AdminRoute)


@router.get("", responses=errors(404))
async def list_captures(project_id: str, session: SessionDep, _: AdminDep) -> ListPage[AdminCapture]:
    captures = await service.of_project(session, project_id)
    return ListPage(data=[AdminCapture.of(capture) for capture in captures], has_more=False)


@router.put("/{model:path}", responses=errors(404))
async def enable_capture(
    project_id: str, model: str, changes: CaptureChanges, session: SessionDep, actor: AdminDep
) -> AdminCapture:
    """Turn capture on for the model (a new capture takes the defaults for what is left out)."""
    return AdminCapture.of(await service.enable(session, actor, project_id, model, changes))


@router.patch("/{model:path}", responses=errors(404))
async def update_capture(
    project_id: str, model: str, changes: CaptureChanges, session: SessionDep, actor: AdminDep
) -> AdminCapture:
    """Change the given settings, on or off as it is."""
    return AdminCapture.of(await service.update(session, actor, project_id, model, changes))


@router.delete("/{model:path}", responses=errors(404))
async def disable_capture(project_id: str, model: str, session: SessionDep, actor: AdminDep) -> AdminCapture:
    """Turn capture off; its files and totals stay."""
    return AdminCapture.of(await service.disable(session, actor, project_id, model))


@router.get("/{model:path}", responses=errors(404))
async def capture_status(project_id: str, model: str, session: SessionDep, _: AdminDep) -> AdminCapture:
    return AdminCapture.of(await service.status(session, project_id, model))
