"""The local chat engine: base models loaded on first use, generation in worker threads.

The event loop never waits on torch: loading and prompt rendering run in threads, and each base
model has a scheduler thread that decodes its concurrent requests as one batch (continuous
batching, `gateway.inference.scheduler`); generated text comes back through a queue as it is
produced. torch, transformers and peft are imported by `gateway.inference.local_model` and the
scheduler, which are imported only when the first chat request arrives.
"""

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.inference.generation import Event, Request, Sampling, Target

if TYPE_CHECKING:
    from gateway.inference.local_model import LocalModel
    from gateway.inference.scheduler import BatchScheduler


@dataclass(frozen=True)
class _End:
    error: BaseException | None


@dataclass
class _Slot:
    """A base model's place in the engine: its loading lock, the model, its scheduler."""

    loading: asyncio.Lock = field(default_factory=asyncio.Lock)
    model: "LocalModel | None" = None
    scheduler: "BatchScheduler | None" = None


class ChatEngine:
    def __init__(self, device: str = "auto", max_loaded_adapters: int = 8, max_batch: int = 16) -> None:
        self.device = device
        self.max_loaded_adapters = max_loaded_adapters
        self.max_batch = max_batch
        self._slots: dict[Path, _Slot] = {}
        self._cancels: set[threading.Event] = set()

    async def render(
        self, target: Target, messages: list[dict[str, Any]], tools: list[Any] | None, context: int
    ) -> list[int]:
        """The prompt's token ids, rendered by the base model's chat template; `PromptTooLong`
        for messages too large for `context` tokens whatever their tokens."""
        slot = await self._loaded(target.base)
        assert slot.model is not None
        return await asyncio.to_thread(slot.model.render, messages, tools, context)

    async def stream(self, target: Target, prompt: list[int], sampling: Sampling) -> AsyncIterator[Event]:
        """Text deltas and per-choice finishes, as generated. Closing the iterator early takes
        its sequences out of the batch at the next step."""
        slot = await self._loaded(target.base)
        assert slot.scheduler is not None
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody reads any more
                cancel.set()

        self._cancels.add(cancel)
        slot.scheduler.submit(
            Request(
                prompt, target.adapter, sampling, emit=put, end=lambda error: put(_End(error)), cancel=cancel
            )
        )
        try:
            while not isinstance(item := await queue.get(), _End):
                yield item
            if item.error is not None:
                raise item.error
        finally:
            cancel.set()
            self._cancels.discard(cancel)

    def loaded_adapters(self, base: Path) -> list[Path]:
        """The adapter folders held for `base`, least recently used first."""
        slot = self._slots.get(base)
        return [] if slot is None or slot.model is None else slot.model.adapters.loaded

    async def close(self) -> None:
        for cancel in self._cancels:
            cancel.set()
        for slot in self._slots.values():
            if slot.scheduler is not None:
                await asyncio.to_thread(slot.scheduler.stop)
        self._slots.clear()

    async def _loaded(self, base: Path) -> _Slot:
        slot = self._slots.setdefault(base, _Slot())
        if slot.scheduler is None:
            async with slot.loading:
                if slot.scheduler is None:
                    slot.model = await asyncio.to_thread(_load, base, self.device, self.max_loaded_adapters)
                    slot.scheduler = _schedule(slot.model, self.max_batch)
        return slot


def _load(base: Path, device: str, max_loaded_adapters: int) -> "LocalModel":
    from gateway.inference.local_model import LocalModel  # torch: see the module's docstring

    return LocalModel(base, device, max_loaded_adapters)


def _schedule(model: "LocalModel", max_batch: int) -> "BatchScheduler":
    from gateway.inference.scheduler import BatchScheduler  # torch: see the module's docstring

    return BatchScheduler(model, max_batch)
