"""vLLM's OpenAI-compatible server with runtime LoRA updating (VLLM_ALLOW_RUNTIME_LORA_UPDATING):
`POST /v1/load_lora_adapter {lora_name, lora_path}` (400 "…has already been loaded…" for a taken
name), `POST /v1/unload_lora_adapter {lora_name}` (404 for an unknown one), adapters listed by
/v1/models with their `parent`, and a chat naming an adapter it does not hold a 404."""

from typing import ClassVar

from gateway.engines.adapters import ServedAdapter
from gateway.engines.server import AdapterServer
from gateway.providers.base import UpstreamError


class VllmServer(AdapterServer):
    kind: ClassVar[str] = "vllm"
    load_path: ClassVar[str] = "/v1/load_lora_adapter"
    unload_path: ClassVar[str] = "/v1/unload_lora_adapter"

    def model_name(self, adapter: ServedAdapter | None) -> str:
        return self.served_model if adapter is None else adapter.name

    def already_loaded(self, error: UpstreamError) -> bool:
        return error.status == 400 and "already been loaded" in error.message

    def unknown_adapter(self, error: UpstreamError) -> bool:
        return error.status == 404

    def adapter_missing(self, error: UpstreamError) -> bool:
        return error.status == 404
