"""/v1/base_models: the base models that can run here, and where each runs: ftgate's own trainer
and engine (`local`) or the named upstream. Only these take jobs and chats; the dashboard offers
no other."""

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from gateway.admission import ProjectRoute
from gateway.catalog import LOCAL_PROVIDER, BaseModelSpec
from gateway.deps import RuntimeDep


class BaseModelInfo(BaseModel):
    id: str
    object: Literal["base_model"] = "base_model"
    created: int
    owned_by: str
    aliases: list[str]
    provider: str = Field(description="`local`, or the name of the upstream that trains and serves it")
    upstream_model: str | None = Field(description="upstream models: its name there")
    methods: list[str] = Field(description="the fine-tuning methods it takes")
    token_limit: int = Field(description="the longest training example, in tokens")
    training_price_per_1m: float = Field(description="USD per 1M trained tokens")
    chat_input_price_per_1m: float = Field(description="USD per 1M prompt tokens")
    chat_output_price_per_1m: float = Field(description="USD per 1M completion tokens")

    @classmethod
    def of(cls, spec: BaseModelSpec) -> "BaseModelInfo":
        return cls(
            id=spec.id,
            created=spec.created,
            owned_by=spec.owned_by,
            aliases=spec.aliases,
            provider=spec.provider,
            upstream_model=None if spec.provider == LOCAL_PROVIDER else spec.upstream_model or spec.id,
            methods=spec.methods,
            token_limit=spec.token_limit,
            training_price_per_1m=spec.training_price_per_1m,
            chat_input_price_per_1m=spec.chat_input_price_per_1m,
            chat_output_price_per_1m=spec.chat_output_price_per_1m,
        )


class BaseModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[BaseModelInfo]


router = APIRouter(prefix="/v1/base_models", tags=["models"], route_class=ProjectRoute)


@router.get("")
async def list_base_models(runtime: RuntimeDep) -> BaseModelList:
    """The models offered here, local ones first."""
    offered = sorted(runtime.offered_models, key=lambda spec: not spec.runs_here)
    return BaseModelList(data=[BaseModelInfo.of(spec) for spec in offered])
