"""What serves a local base model and the adapters tuned from it.

Every engine has a kind and is closed with the runtime. ftgate's own `transformers` engine
renders the prompt and generates in this process (`gateway.inference.engine.ChatEngine`, which
the chat API drives token by token). A `ServedEngine` is a server that ftgate drives over HTTP:
an OpenAI chat request in, the server's answer out, streamed or not, forwarded to the caller as
an upstream's answer is (`gateway.chat.forwarding`).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gateway.providers.base import ChatReply


class Engine(Protocol):
    kind: str

    async def close(self) -> None: ...


class ServedEngine(Engine, Protocol):
    name: str

    async def chat(
        self, body: dict[str, Any], *, adapter: Path | None, model: str, fingerprint: str
    ) -> ChatReply:
        """`body` answered by the base model or its `adapter`, the answer naming `model` and
        carrying `fingerprint`. GatewayError for what the caller must see as ftgate's own
        refusal or failure; UpstreamError for the server's refusal of the request itself."""
        ...


@dataclass(frozen=True)
class EngineChat:
    """A served engine bound to one model: what its chats are forwarded to, like an upstream."""

    engine: ServedEngine
    adapter: Path | None
    model: str
    fingerprint: str

    @property
    def name(self) -> str:
        return self.engine.name

    async def chat(self, body: dict[str, Any]) -> ChatReply:
        return await self.engine.chat(
            body, adapter=self.adapter, model=self.model, fingerprint=self.fingerprint
        )
