"""/v1/models: list, retrieve, delete (fine-tuned models only)."""

from fastapi import APIRouter

from gateway.admission import ProjectRoute
from gateway.deps import CallerDep, RuntimeDep, SessionDep
from gateway.models_api import service
from gateway.models_api.schemas import Model, ModelDeleted, ModelList
from gateway.openapi import errors

router = APIRouter(prefix="/v1/models", tags=["models"], route_class=ProjectRoute)


@router.get("")
async def list_models(session: SessionDep, caller: CallerDep, runtime: RuntimeDep) -> ModelList:
    return ModelList(data=await service.list_models(session, caller, runtime.offered_models))


@router.get("/{model:path}", responses=errors(404))
async def retrieve(model: str, session: SessionDep, caller: CallerDep, runtime: RuntimeDep) -> Model:
    return await service.retrieve(session, caller, runtime.offered_models, model)


@router.delete("/{model:path}", responses=errors(403, 404))
async def delete(model: str, session: SessionDep, caller: CallerDep, runtime: RuntimeDep) -> ModelDeleted:
    await service.delete(session, caller, runtime.offered_models, model)
    return ModelDeleted(id=model, deleted=True)
