"""What the fakes of upstreams with an API of their own (Together, Fireworks) share beside the
serving every fake gets from FakeUpstream (the loopback server, faults, the request log): the
upstream's state and clock (`ScriptedUpstream`: jobs that move through phases `phase_seconds`
apart and train at `step_seconds` a step, as scripts for the next jobs say) and the fake that
serves it (`ScriptedFake`). Each dialect keeps its own jobs, phases, shapes and endpoints."""

from typing import Any, Protocol

from .server import Request, Response
from .upstream import FakeUpstream


class Phased(Protocol):
    """A job that the clock moves: its phase, and when it moves on."""

    phase: str
    next_at: float


class ScriptedUpstream:
    """An upstream's state: its files and jobs by id, its fine-tuned models, the chat answers set
    through `FakeUpstream.answer` and the models chats asked for, scripts for the next jobs, the
    uploads it took and its price per 1M tokens (`PRICE_PER_1M` until a test scripts another)."""

    PRICE_PER_1M = 0.0
    # The phases in which a job waits for something other than the clock.
    RESTING: frozenset[str] = frozenset({"done"})

    def __init__(self, *, step_seconds: float, phase_seconds: float) -> None:
        self.step_seconds = step_seconds
        self.phase_seconds = phase_seconds
        self.reset()

    def reset(self) -> None:
        self.files: dict[str, Any] = {}
        self.jobs: dict[str, Any] = {}
        self.models: set[str] = set()
        self.answers: dict[str, str] = {}
        self.scripts: list[Any] = []
        self.chats: list[str] = []
        self.files_uploaded = 0
        self.price_per_1m = self.PRICE_PER_1M

    @property
    def jobs_created(self) -> int:
        return len(self.jobs)

    def advance(self, now: float) -> None:
        """Move every job through the phases due by `now`."""
        for job in self.jobs.values():
            while job.phase not in self.RESTING and job.next_at <= now:
                self._move(job, now)

    def _move(self, job: Any, now: float) -> None:
        raise NotImplementedError


class Endpoints(Protocol):
    def handle(self, request: Request) -> Response: ...


class ScriptedFake(FakeUpstream):
    """A fake whose state is `upstream` and whose API is `api`, served like FakeUpstream."""

    def __init__(self, api_key: str, upstream: ScriptedUpstream, api: Endpoints) -> None:
        super().__init__(api_key, upstream=upstream, api=api)

    @property
    def chats(self) -> list[str]:
        """The models that chats asked for, in order."""
        return self._call(lambda: list(self._upstream.chats))
