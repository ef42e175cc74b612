"""/v1/models: list, retrieve, delete (fine-tuned models only), and export a fine-tuned model's
weights (ftgate's own)."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from starlette.convertors import PathConvertor, register_url_convertor

from gateway.admission import ProjectRoute
from gateway.deps import CallerDep, RuntimeDep, SessionDep
from gateway.models_api import service
from gateway.models_api.schemas import Model, ModelDeleted, ModelList
from gateway.openapi import errors
from gateway.weights import service as weights
from gateway.weights.service import WeightsFormat


class ModelNameConvertor(PathConvertor):
    """A model's name, slashes and all, unless it ends in `/weights`: that path exports the
    weights of the model before it, and no other method is served there."""

    regex = r"(?!.*/weights$).*"


register_url_convertor("model_name", ModelNameConvertor())

router = APIRouter(prefix="/v1/models", tags=["models"], route_class=ProjectRoute)


@router.get("")
async def list_models(session: SessionDep, caller: CallerDep, runtime: RuntimeDep) -> ModelList:
    return ModelList(data=await service.list_models(session, caller, runtime.offered_models))


WEIGHTS_ARCHIVE = {
    "description": "A tar of one folder: the adapter (or the merged model), the base model's "
    "tokenizer and chat template files, and `ftgate-export.json`.",
    "content": {"application/x-tar": {"schema": {"type": "string", "format": "binary"}}},
}


@router.get(
    "/{model:path}/weights", response_class=StreamingResponse, responses={200: WEIGHTS_ARCHIVE} | errors(404)
)
async def export_weights(
    model: str,
    caller: CallerDep,
    runtime: RuntimeDep,
    weights_format: Annotated[WeightsFormat, Query(alias="format")] = "adapter",
) -> StreamingResponse:
    """A fine-tuned model's (or checkpoint's) weights as a tar: its LoRA adapter (a PEFT folder),
    or with `format=merged` the base model with the adapter merged in (safetensors, loadable with
    transformers alone)."""
    exported = await weights.export(runtime, caller, model, weights_format)
    headers = {
        "content-disposition": f'attachment; filename="{exported.filename}"',
        "content-length": str(exported.archive.length),
    }
    return StreamingResponse(exported.archive.chunks(), media_type="application/x-tar", headers=headers)


@router.get("/{model:model_name}", responses=errors(404))
async def retrieve(model: str, session: SessionDep, caller: CallerDep, runtime: RuntimeDep) -> Model:
    return await service.retrieve(session, caller, runtime.offered_models, model)


@router.delete("/{model:model_name}", responses=errors(403, 404))
async def delete(model: str, session: SessionDep, caller: CallerDep, runtime: RuntimeDep) -> ModelDeleted:
    await service.delete(session, caller, runtime.offered_models, model)
    return ModelDeleted(id=model, deleted=True)
