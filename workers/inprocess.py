"""The embedded default's queue: the same tasks as asyncio tasks in the gateway process."""

import asyncio
import logging

from gateway.runtime import Runtime
from gateway.task_names import DELIVER_DUE_WEBHOOKS, POLL_UPSTREAMS, RECONCILE
from workers.tasks import TASKS

log = logging.getLogger(__name__)


class InProcessRunner:
    def __init__(
        self, reconcile_interval: float, poll_interval: float, webhook_interval: float = 1.0
    ) -> None:
        self.periodic = {
            RECONCILE: reconcile_interval,
            POLL_UPSTREAMS: poll_interval,
            DELIVER_DUE_WEBHOOKS: webhook_interval,
        }
        self.runtime: Runtime | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._timers: list[asyncio.Task[None]] = []

    def dispatch(self, task_name: str, object_id: str) -> None:
        if self._loop is None:
            log.warning("in-process queue not started; %s(%s) left to the reconciler", task_name, object_id)
            return
        self._loop.call_soon_threadsafe(self._spawn, task_name, object_id)

    def _spawn(self, task_name: str, object_id: str) -> None:
        task = asyncio.create_task(self._run(task_name, object_id))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, task_name: str, object_id: str) -> None:
        assert self.runtime is not None
        try:
            await TASKS[task_name](self.runtime, object_id)
        except Exception:
            log.exception("task %s(%s) failed; the reconciler will retry it", task_name, object_id)

    async def start(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._loop = asyncio.get_running_loop()
        self._timers = [
            asyncio.create_task(self._every(interval, task_name))
            for task_name, interval in self.periodic.items()
        ]

    async def _every(self, interval: float, task_name: str) -> None:
        while True:
            await self._run(task_name, "")
            await asyncio.sleep(interval)

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        self._loop = None
