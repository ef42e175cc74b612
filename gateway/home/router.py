"""POST /admin/projects/{project_id}/home_adapters, for the operator's key."""

from fastapi import APIRouter

from gateway.admin.auth import AdminDep
from gateway.admission import AdminRoute
from gateway.deps import RuntimeDep
from gateway.home.schemas import BringHomeRequest, HomeAdapterObject
from gateway.home.service import bring_home
from gateway.openapi import errors

router = APIRouter(prefix="/admin/projects/{project_id}", tags=["admin"], route_class=AdminRoute)


@router.post("/home_adapters", responses=errors(404, 502))
async def bring_adapter_home(
    project_id: str, body: BringHomeRequest, runtime: RuntimeDep, actor: AdminDep
) -> HomeAdapterObject:
    """Download the adapter of a fine-tuned model an upstream trained (Together) and serve the
    model here from then on, on its base model's local twin (`home_model`)."""
    return await bring_home(runtime, actor, project_id, body.model)
