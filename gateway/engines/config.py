"""How a local base model is served: `engine` of its BaseModelSpec (FTGATE_BASE_MODELS, or the
model folder's `ftgate.json`)."""

from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, model_validator

EngineKind = Literal["transformers", "vllm", "sglang"]


class EngineSpec(BaseModel):
    """`transformers`: ftgate's own engine, in the gateway's process. `vllm` and `sglang`: a
    server started with runtime LoRA loading on, at `base_url` (its root, without `/v1`), which
    must read the adapters that ftgate's trainer writes: `adapter_root` is where it sees
    ftgate's artifacts folder (on S3 storage: the gateway's cache folder, where adapters are
    fetched from the bucket), when not at the same path."""

    model_config = ConfigDict(extra="forbid")

    kind: EngineKind = "transformers"
    base_url: HttpUrl | None = None
    api_key: SecretStr | None = Field(default=None, description="the server's --api-key, if any")
    served_model: str | None = Field(
        default=None, description="the base model's name at the server (--served-model-name); default: its id"
    )
    max_loras: int = Field(
        default=8, ge=1, description="adapters ftgate keeps loaded there at once, least recently used evicted"
    )
    max_lora_rank: int = Field(default=16, ge=1, description="the server's --max-lora-rank")
    adapter_root: PurePosixPath | None = Field(
        default=None,
        description="ftgate's artifacts folder (S3 storage: its cache folder) as the server sees it; "
        "default: the same path",
    )
    timeout_seconds: float = Field(
        default=600.0, gt=0, description="longest wait for the server's next bytes"
    )
    attempts: int = Field(default=2, ge=1, description="tries per request on 5xx answers and timeouts")

    @model_validator(mode="after")
    def _server_named(self) -> "EngineSpec":
        if self.kind != "transformers" and self.base_url is None:
            raise ValueError(f"a {self.kind} engine needs the server's base_url")
        return self

    @property
    def root_url(self) -> str:
        """The server's root, where SGLang's LoRA endpoints are and under which `/v1` is."""
        assert self.base_url is not None
        return str(self.base_url).rstrip("/").removesuffix("/v1")
