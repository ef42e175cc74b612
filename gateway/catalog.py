"""Base models a project may fine-tune: public names, snapshot aliases, token limits, prices.

Default prices are OpenAI's published per-1M-token rates for these snapshots: training, and chat
with the models fine-tuned from them.
"""

import json
import logging
from collections.abc import Collection
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from gateway.engines.config import EngineSpec


class BaseModelSpec(BaseModel):
    """One fine-tunable base model.

    `id` is the resolved snapshot written on jobs; `aliases` are the names that resolve to it
    (OpenAI turns `gpt-4o-mini` into `gpt-4o-mini-2024-07-18` at create time).
    """

    id: str
    aliases: list[str] = Field(default_factory=list)
    owned_by: str = "system"
    created: int = 0
    encoding: Literal["o200k_base", "cl100k_base", "o200k_harmony"] = "o200k_base"
    token_limit: int = 65536
    methods: list[str] = Field(default_factory=lambda: ["supervised", "dpo"])
    learning_rate_multiplier: float = 1.8
    training_price_per_1m: float = Field(default=0.0, ge=0, description="USD per 1M trained tokens")
    chat_input_price_per_1m: float = Field(
        default=0.0, ge=0, description="USD per 1M prompt tokens, for the model and its fine-tuned models"
    )
    chat_output_price_per_1m: float = Field(default=0.0, ge=0, description="USD per 1M completion tokens")
    provider: str = Field(default="openai", description="`local`, or the name of the upstream that runs it")
    upstream_model: str | None = Field(default=None, description="upstreams: its name there, if not `id`")
    path: Path | None = Field(default=None, description="local models: the Hugging Face model folder")
    home_model: str | None = Field(
        default=None,
        description="upstream models: the local model with the same weights, which serves the "
        "adapters brought home from the upstream",
    )
    learning_rate: float = Field(default=2e-4, gt=0, description="local models: LR at multiplier 1.0")
    devices_per_job: int = Field(
        default=1,
        ge=1,
        description="local models: processes that train one job together (one per GPU, under torchrun); "
        "1 trains in the worker itself",
    )
    sharding: Literal["ddp", "fsdp"] = Field(
        default="ddp",
        description="local models trained by several processes: `ddp`, each holds the whole model; "
        "`fsdp`, each holds a share of its weights (for a model larger than one device)",
    )
    engine: EngineSpec = Field(
        default_factory=EngineSpec,
        description="local models: what serves chats with it and its fine-tuned models (vLLM, SGLang)",
    )

    @model_validator(mode="after")
    def _shards_among_processes(self) -> "BaseModelSpec":
        if self.sharding == "fsdp" and self.devices_per_job == 1:
            raise ValueError(
                "sharding 'fsdp' splits the model among processes: set devices_per_job to 2 or more"
            )
        return self

    @property
    def runs_here(self) -> bool:
        """A local model whose folder is here: ftgate's trainer tunes it (and counts its tokens
        as it trains them) and ftgate's engine serves it and the models tuned from it."""
        return self.provider == LOCAL_PROVIDER and self.path is not None


DEFAULT_BASE_MODELS = (
    BaseModelSpec(
        id="gpt-4.1-2025-04-14",
        aliases=["gpt-4.1"],
        created=1744316542,
        training_price_per_1m=25.0,
        chat_input_price_per_1m=3.0,
        chat_output_price_per_1m=12.0,
    ),
    BaseModelSpec(
        id="gpt-4.1-mini-2025-04-14",
        aliases=["gpt-4.1-mini"],
        created=1744317547,
        training_price_per_1m=5.0,
        chat_input_price_per_1m=0.8,
        chat_output_price_per_1m=3.2,
    ),
    BaseModelSpec(
        id="gpt-4.1-nano-2025-04-14",
        aliases=["gpt-4.1-nano"],
        created=1744321707,
        training_price_per_1m=1.5,
        chat_input_price_per_1m=0.2,
        chat_output_price_per_1m=0.8,
    ),
    BaseModelSpec(
        id="gpt-4o-2024-08-06",
        aliases=["gpt-4o"],
        created=1722814719,
        training_price_per_1m=25.0,
        chat_input_price_per_1m=3.75,
        chat_output_price_per_1m=15.0,
    ),
    BaseModelSpec(
        id="gpt-4o-mini-2024-07-18",
        aliases=["gpt-4o-mini"],
        created=1721172741,
        training_price_per_1m=3.0,
        chat_input_price_per_1m=0.3,
        chat_output_price_per_1m=1.2,
    ),
    BaseModelSpec(
        id="gpt-3.5-turbo-0125",
        aliases=["gpt-3.5-turbo"],
        created=1706048358,
        encoding="cl100k_base",
        token_limit=16385,
        methods=["supervised"],
        learning_rate_multiplier=2.0,
        training_price_per_1m=8.0,
        chat_input_price_per_1m=3.0,
        chat_output_price_per_1m=6.0,
    ),
)

log = logging.getLogger(__name__)

LOCAL_PROVIDER = "local"
LOCAL_MODEL_SIDECAR = "ftgate.json"


def discover_local_models(models_dir: Path, prices: dict[str, float] | None = None) -> list[BaseModelSpec]:
    """Every Hugging Face model folder directly under `models_dir`, named after the folder.

    An optional `ftgate.json` in the folder overrides any BaseModelSpec field (aliases, prices,
    learning_rate, methods...).
    """
    if not models_dir.is_dir():
        return []
    found = []
    for folder in sorted(models_dir.iterdir()):
        config_file = folder / "config.json"
        if not config_file.is_file():
            continue
        try:
            found.append(_local_spec(folder, config_file, prices or {}))
        except (ValueError, OSError) as error:  # JSON and validation errors are ValueErrors
            log.error("skipping the local model folder %s: %s", folder, error)
    return found


def _local_spec(folder: Path, config_file: Path, prices: dict[str, float]) -> BaseModelSpec:
    config = json.loads(config_file.read_text())
    sidecar = folder / LOCAL_MODEL_SIDECAR
    overrides = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
    spec = {
        "id": folder.name,
        "owned_by": "ftgate",
        "created": int(config_file.stat().st_mtime),
        "token_limit": config.get("max_position_embeddings", 65536),
        "learning_rate_multiplier": 1.0,
        "provider": LOCAL_PROVIDER,
        "path": folder.resolve(),
    } | prices
    return BaseModelSpec.model_validate(spec | overrides)


def build_catalog(
    configured: list[BaseModelSpec], models_dir: Path, local_prices: dict[str, float] | None = None
) -> list[BaseModelSpec]:
    """The configured models, then the local folders that no configured model already names
    (priced at `local_prices` unless their `ftgate.json` says otherwise)."""
    taken = {spec.id for spec in configured}
    resolved = [
        spec.model_copy(update={"path": (models_dir / spec.path).resolve()})
        if spec.provider == LOCAL_PROVIDER and spec.path is not None and not spec.path.is_absolute()
        else spec
        for spec in configured
    ]
    return resolved + [
        spec for spec in discover_local_models(models_dir, local_prices) if spec.id not in taken
    ]


def offered(
    models: list[BaseModelSpec], providers: Collection[str], runs_local: bool = True
) -> list[BaseModelSpec]:
    """The models that can run here: those of the `providers` here (the local trainer, and the
    upstreams configured), the local ones only where `runs_local` (the install has the `local`
    extra). Only these are listed and take jobs; the others stay in the catalog for the jobs
    already on them."""
    return [spec for spec in models if spec.provider in providers and (runs_local or not spec.runs_here)]


def resolve_base_model(models: list[BaseModelSpec], name: str) -> BaseModelSpec | None:
    for spec in models:
        if name == spec.id or name in spec.aliases:
            return spec
    return None
