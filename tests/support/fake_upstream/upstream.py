"""FakeUpstream: the scripted upstream on a real loopback port, its state open to the tests."""

import asyncio
import copy
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Self

from . import history
from .api import Api
from .faults import Fault, Faults, answer
from .lifecycle import Job, Upstream
from .server import Request, Response, start_server
from .webhooks import WebhookSender

TICK_SECONDS = 0.02


class FakeUpstream:
    """An OpenAI-compatible fine-tuning upstream on 127.0.0.1. Use it as a context manager (it serves
    from a background thread) or run `python -m tests.support.fake_upstream`. All state lives in the
    server's event loop; the methods below read and change it there. Another dialect of the API
    subclasses it with its own `upstream_class` and `api_class`."""

    upstream_class: type[Upstream] = Upstream
    api_class: type[Api] = Api

    def __init__(
        self,
        api_key: str = "sk-upstream-test",
        *,
        step_seconds: float = 0.05,
        validate_seconds: float = 0.2,
        queue_seconds: float = 0.2,
        org_slug: str = "upstream-org",
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        port: int = 0,
        upstream: Any = None,
        api: Any = None,
    ) -> None:
        """`upstream` and `api`: the state and endpoints of a dialect whose state is not an
        `Upstream` (`scripted.ScriptedFake`); the timings then go unused."""
        self.port = port
        self._webhook = (webhook_url, webhook_secret) if webhook_url and webhook_secret else None
        self._webhooks: WebhookSender | None = None
        if upstream is None:
            upstream = self.upstream_class(
                step_seconds=step_seconds,
                validate_seconds=validate_seconds,
                queue_seconds=queue_seconds,
                org_slug=org_slug,
                on_finish=self._announce,
            )
        self._upstream = upstream
        self._api = self.api_class(upstream, api_key) if api is None else api
        self._faults = Faults()
        self._requests: list[dict[str, Any]] = []
        self._control = {
            ("POST", "/_fake/faults"): lambda request: self.add_fault(**request.json()),
            ("DELETE", "/_fake/faults"): lambda request: self.clear_faults(),
            ("POST", "/_fake/reset"): lambda request: self.reset(),
            ("POST", "/_fake/forget_files"): lambda request: self.forget_files(),
            ("GET", "/_fake/state"): lambda request: self._state(),
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def serve(self, ready: Callable[[], None] = lambda: None) -> None:
        """Listen, advance the jobs, and call `ready` once listening; return after `stop()`."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await start_server(self._handle, "127.0.0.1", self.port)
        self.port = server.sockets[0].getsockname()[1]
        self._webhooks = WebhookSender(*self._webhook) if self._webhook else None
        ticker = asyncio.create_task(self._tick())
        ready()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            ticker.cancel()
            if self._webhooks:
                await self._webhooks.aclose()

    def start(self) -> Self:
        listening = threading.Event()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self.serve(listening.set),), name="fake-upstream", daemon=True
        )
        self._thread.start()
        while not listening.wait(0.05):
            if not self._thread.is_alive():
                raise RuntimeError("the fake upstream failed to start")
        return self

    def stop(self) -> None:
        if self._thread is not None and self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def add_fault(
        self,
        method: str,
        path_pattern: str,
        action: str,
        *,
        times: int = 1,
        status: int = 500,
        retry_after: float | None = None,
        seconds: float = 5.0,
    ) -> None:
        """Bend the next `times` requests matching `method` ("*": any) and `path_pattern` (re.search on
        the path): "status", "timeout", "drop", "drop_after", "duplicate" or "shuffle"."""
        fault = Fault(method, path_pattern, action, times, status, retry_after, seconds)
        self._call(self._faults.rules.append, fault)

    def clear_faults(self) -> None:
        self._call(self._faults.rules.clear)

    def reset(self) -> None:
        """Forget every job, file, fault and logged request."""

        def reset() -> None:
            self._upstream.reset()
            self._faults.rules.clear()
            self._requests.clear()

        self._call(reset)

    def forget_files(self) -> None:
        """Lose every stored file, as an upstream whose files were deleted, whose account was
        switched or that restarted without them: a job naming one is refused with OpenAI's
        400 `invalid training_file: <id>`. Jobs keep running."""
        self._call(self._upstream.files.clear)

    def lose_uploads(self, losing: bool = True) -> None:
        """While `losing`, every upload is answered as usual and forgotten at once."""
        self._call(setattr, self._upstream, "losing_uploads", losing)

    def answer(self, answers: dict[str, str]) -> None:
        """Chats whose last user message is a key of `answers` are answered with its value (the
        rest as `[model] message`), as a production model answers its usual questions."""
        self._call(self._upstream.answers.update, answers)

    def state(self) -> dict[str, Any]:
        """Everything `GET /_fake/state` returns: requests, jobs_created, files_uploaded, jobs."""
        return self._call(lambda: copy.deepcopy(self._state()))

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The /v1 request log: method, path, status (None when dropped) and arrival time `at`."""
        return self._call(copy.deepcopy, self._requests)

    @property
    def jobs_created(self) -> int:
        return self._call(lambda: self._upstream.jobs_created)

    @property
    def files_uploaded(self) -> int:
        return self._call(lambda: self._upstream.files_uploaded)

    def requests_to(self, method: str, pattern: str) -> int:
        """How many logged requests had this method and a path that `pattern` matches (re.search)."""
        regex = re.compile(pattern)
        return sum(1 for r in self.requests if r["method"] == method.upper() and regex.search(r["path"]))

    def seed_history(self) -> dict[str, str]:
        """Add an organisation's past: a job in each status (see `history.seed`); status -> id."""
        return self._call(history.seed, self._upstream)

    def add_history_job(self, status: str, name: str, **options: Any) -> str:
        """One more job made at once in `status` (see `history.add_job`); its id."""
        return self._call(
            lambda: (
                history.add_job(self._upstream, status, name=name, created_at=int(time.time()), **options).id
            )
        )

    def add_steps(self, upstream_id: str, steps: int) -> None:
        """More training steps (events, checkpoints) for a running history job."""
        self._call(lambda: history.add_steps(self._upstream, self._upstream.jobs[upstream_id], steps))

    def stop_clock(self, upstream_id: str) -> None:
        """The job stops where it is, still in its status, until `start_clock`."""
        self._call(self._upstream.stop_clock, upstream_id)

    def start_clock(self, upstream_id: str) -> None:
        self._call(self._upstream.start_clock, upstream_id)

    def file_content(self, file_id: str) -> bytes:
        """A stored file's content, whatever its purpose (the API refuses `fine-tune` ones)."""
        return self._call(lambda: self._upstream.files[file_id].content)

    def file_info(self, file_id: str) -> dict[str, Any]:
        return self._call(lambda: copy.deepcopy(self._upstream.files[file_id].info))

    def job(self, upstream_id: str) -> dict[str, Any]:
        """The job object plus `vanished`, `events` (oldest first, with `emitted_at`), `checkpoints`
        and `webhook_attempts`. KeyError for an id never created."""
        return self._call(lambda: copy.deepcopy(self._job_state(self._upstream.jobs[upstream_id])))

    def jobs(self) -> list[dict[str, Any]]:
        return self._call(
            lambda: copy.deepcopy([self._job_state(job) for job in self._upstream.jobs.values()])
        )

    def events(self, upstream_id: str) -> list[dict[str, Any]]:
        return self.job(upstream_id)["events"]

    def _call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run `function` in the server's loop (directly when already there or not running)."""
        if self._thread is None or self._loop is None or threading.current_thread() is self._thread:
            return function(*args)

        async def call() -> Any:
            return function(*args)

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout=10)

    def _state(self) -> dict[str, Any]:
        """The live state (GET /_fake/state serializes it before anything can change it)."""
        return {
            "requests": self._requests,
            "jobs_created": self._upstream.jobs_created,
            "files_uploaded": self._upstream.files_uploaded,
            "jobs": [self._job_state(job) for job in self._upstream.jobs.values()],
        }

    def _job_state(self, job: Any) -> dict[str, Any]:
        """What `job()`, `jobs()` and the state show of a job: a dialect shows its own."""
        return job_state(job)

    async def _handle(self, request: Request) -> Response | None:
        if request.path.startswith("/_fake/"):
            return self._control_response(request)
        at = time.time()
        response = await answer(self._faults.take(request), request, self._api.handle)
        status = None if response is None else response.status
        self._requests.append({"method": request.method, "path": request.path, "status": status, "at": at})
        return response

    def _control_response(self, request: Request) -> Response:
        control = self._control.get((request.method, request.path))
        if control is None:
            return Response(404, {"error": f"no control endpoint {request.method} {request.path}"})
        try:
            result = control(request)
        except (TypeError, ValueError, re.error) as error:
            return Response(400, {"error": str(error)})
        return Response(200, {"ok": True} if result is None else result)

    async def _tick(self) -> None:
        while True:
            self._upstream.advance(time.monotonic())
            await asyncio.sleep(TICK_SECONDS)

    def _announce(self, job: Job) -> None:
        if self._webhooks is not None:
            self._webhooks.send(job)


def job_state(job: Job) -> dict[str, Any]:
    return {
        **job.data,
        "vanished": job.vanished,
        "events": job.events,
        "checkpoints": job.checkpoints,
        "webhook_attempts": job.webhook_attempts,
    }
