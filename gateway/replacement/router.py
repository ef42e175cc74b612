"""/admin/projects/{project_id}/openai_replace and /openai_compare, for the operator's key."""

from fastapi import APIRouter, Request

from gateway.admin.auth import AdminDep
from gateway.admission import AdminRoute
from gateway.deps import RuntimeDep, SessionDep
from gateway.fine_tuning.schemas import FineTuningJob
from gateway.openapi import errors
from gateway.replacement.compare import compare
from gateway.replacement.replace import replace
from gateway.replacement.schemas import CompareRequest, Comparison, ReplaceRequest

router = APIRouter(prefix="/admin/projects/{project_id}", tags=["admin"], route_class=AdminRoute)


@router.post("/openai_replace", responses=errors(404))
async def replace_original(
    project_id: str, body: ReplaceRequest, session: SessionDep, runtime: RuntimeDep, actor: AdminDep
) -> FineTuningJob:
    """A job of the project that trains a replacement of the original on an open base model."""
    return FineTuningJob.of(await replace(session, runtime, actor, project_id, body))


@router.post("/openai_compare", responses=errors(404))
async def compare_with_original(
    project_id: str,
    body: CompareRequest,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    actor: AdminDep,
) -> Comparison:
    """An eval graded against the original's held-out answers, run on the original, the base
    model and the replacement."""
    return await compare(session, runtime, actor, project_id, body, str(request.base_url))
