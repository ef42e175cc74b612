"""SGLang's server with `--enable-lora`: `POST /load_lora_adapter {lora_name, lora_path}` and
`POST /unload_lora_adapter {lora_name}` (outside /v1; refusals are 400 `{"success": false,
"error_message"}`: "…already exists…", "…does not exist…", "Maximum number of loaded LoRA adapters
is N…"), adapters listed by /v1/models with their `parent`, chats naming `base:adapter`, and a
chat naming an adapter it does not hold refused as "…not loaded…"."""

from typing import ClassVar

from gateway.engines.adapters import ServedAdapter
from gateway.engines.server import AdapterServer
from gateway.providers.base import UpstreamError


class SglangServer(AdapterServer):
    kind: ClassVar[str] = "sglang"
    load_path: ClassVar[str] = "/load_lora_adapter"
    unload_path: ClassVar[str] = "/unload_lora_adapter"

    def model_name(self, adapter: ServedAdapter | None) -> str:
        return self.served_model if adapter is None else f"{self.served_model}:{adapter.name}"

    def already_loaded(self, error: UpstreamError) -> bool:
        return error.status == 400 and (
            "already exists" in error.message or "already loaded" in error.message
        )

    def unknown_adapter(self, error: UpstreamError) -> bool:
        return error.status in (400, 404) and "does not exist" in error.message

    def adapter_missing(self, error: UpstreamError) -> bool:
        return error.status == 404 or (error.status == 400 and "not loaded" in error.message)

    def full(self, error: UpstreamError) -> bool:
        return error.status == 400 and "maximum number of loaded lora adapters" in error.message.lower()
