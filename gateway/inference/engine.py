"""The local chat engine: base models loaded on first use, generation in worker threads.

The event loop never waits on torch: loading, prompt rendering and generation run in threads,
and generated text comes back through a queue as it is produced. One generation at a time runs
on a base model (its adapters are switched in place), each under that model's lock. torch,
transformers and peft are imported by `gateway.inference.local_model`, which is imported only when
the first chat request arrives.
"""

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.inference.generation import Event, Sampling, Target

if TYPE_CHECKING:
    from gateway.inference.local_model import LocalModel


_END = object()


@dataclass
class _Slot:
    """A base model's place in the engine: its loading lock, its generation lock, the model."""

    loading: asyncio.Lock = field(default_factory=asyncio.Lock)
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)
    model: "LocalModel | None" = None


class ChatEngine:
    def __init__(self, device: str = "auto", max_loaded_adapters: int = 8) -> None:
        self.device = device
        self.max_loaded_adapters = max_loaded_adapters
        self._slots: dict[Path, _Slot] = {}
        self._runs: set[asyncio.Task[None]] = set()
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
        """Text deltas and per-choice finishes, as generated. Closing the iterator early stops
        the generation at its next token."""
        slot = await self._loaded(target.base)
        model = slot.model
        assert model is not None
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()

        def emit(event: Event) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, event)

        async def run() -> None:
            # The lock is held by this task, not by the caller's iterator, so an abandoned
            # iterator cannot keep the model locked.
            try:
                async with slot.busy:
                    if not cancel.is_set():
                        await asyncio.to_thread(
                            model.generate, prompt, target.adapter, sampling, emit, cancel
                        )
            except Exception as error:  # handed to the reader, which raises it
                queue.put_nowait(error)
            finally:
                queue.put_nowait(_END)

        task = asyncio.create_task(run())
        self._runs.add(task)
        self._cancels.add(cancel)
        task.add_done_callback(self._runs.discard)
        try:
            while (item := await queue.get()) is not _END:
                if isinstance(item, Exception):
                    raise item
                yield item
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
        if self._runs:
            await asyncio.gather(*self._runs, return_exceptions=True)
        self._slots.clear()

    async def _loaded(self, base: Path) -> _Slot:
        slot = self._slots.setdefault(base, _Slot())
        if slot.model is None:
            async with slot.loading:
                if slot.model is None:
                    slot.model = await asyncio.to_thread(_load, base, self.device, self.max_loaded_adapters)
        return slot


def _load(base: Path, device: str, max_loaded_adapters: int) -> "LocalModel":
    from gateway.inference.local_model import LocalModel

    return LocalModel(base, device, max_loaded_adapters)
