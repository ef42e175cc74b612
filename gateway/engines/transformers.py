"""The portable default: ftgate's own engine, in the gateway's process (see ChatEngine)."""

from typing import ClassVar

from gateway.inference.engine import ChatEngine


class TransformersEngine:
    kind: ClassVar[str] = "transformers"

    def __init__(self, chat_engine: ChatEngine) -> None:
        self.chat_engine = chat_engine

    async def close(self) -> None:
        await self.chat_engine.close()
