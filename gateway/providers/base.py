"""What ftgate needs from a provider, and what it gets back. `JobProvider` is what every provider
answers, the local trainer included; `Provider` is an upstream, which ftgate sends jobs to and
looks at. Providers know nothing of the database or the queue: ids and dicts in, these frozen
records out."""

import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, Generic, Literal, Protocol, TypeVar, runtime_checkable

log = logging.getLogger(__name__)

Action = Literal["cancel", "pause", "resume"]
Item = TypeVar("Item")


class UpstreamStatus(StrEnum):
    """An upstream job's state in OpenAI's words: each adapter maps its upstream's own to one."""

    VALIDATING_FILES = "validating_files"
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # A state the adapter does not know (an upstream that added one): ftgate's job keeps its
    # status and is looked at again as a waiting one.
    UNKNOWN = "unknown"

    @classmethod
    def read(cls, state: str, names: Mapping[str, "UpstreamStatus"] | None = None) -> "UpstreamStatus":
        """The status an upstream's `state` stands for: by the adapter's `names`, else by
        OpenAI's own words."""
        if names is not None and state in names:
            return names[state]
        try:
            return cls(state)
        except ValueError:
            log.warning("an upstream job is in a state ftgate does not know: %r", state)
            return cls.UNKNOWN


UPSTREAM_TERMINAL = frozenset({UpstreamStatus.SUCCEEDED, UpstreamStatus.FAILED, UpstreamStatus.CANCELLED})


@dataclass(frozen=True)
class UpstreamJob:
    id: str
    status: UpstreamStatus
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    finished_at: int | None = None
    estimated_finish: int | None = None
    error: dict[str, Any] | None = None
    result_files: list[str] = field(default_factory=list)
    # The upstream's own estimate of the job's cost in micro-USD, where the operator asked for
    # it (`upstream_estimates`) and the upstream shows it on its jobs (Fireworks).
    estimated_cost_micros: int | None = None


@dataclass(frozen=True)
class UpstreamEvent:
    id: str
    created_at: int
    level: str
    message: str
    data: dict[str, Any] | None
    type: str


@dataclass(frozen=True)
class UpstreamCheckpoint:
    id: str
    created_at: int
    name: str
    step_number: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class Page(Generic[Item]):
    """One page of a list, in the upstream's order (newest first)."""

    items: list[Item]
    has_more: bool


@dataclass(frozen=True)
class UpstreamFile:
    filename: str
    content: bytes


@dataclass(frozen=True)
class ChatReply:
    """The upstream's answer to a chat request, passed on as it came."""

    status_code: int
    content_type: str
    headers: dict[str, str]
    body: AsyncIterator[bytes]


class ChatUpstream(Protocol):
    """What ftgate forwards chats to: an upstream, or a serving engine bound to one model."""

    @property
    def name(self) -> str: ...

    async def chat(self, body: dict[str, Any]) -> ChatReply: ...


@dataclass(frozen=True)
class JobLookup:
    """A create that was sent but whose answer never came, to be found upstream: the metadata
    marker it carried, the request as sent, when it was sent (Unix seconds), and the upstream
    jobs that other ftgate jobs already hold (never the one this job is looking for)."""

    metadata_key: str
    job_id: str
    request: dict[str, Any]
    sent_at: int
    taken: frozenset[str]


@dataclass(frozen=True)
class Unsupported:
    """Something in a create request that an upstream cannot do, and the request field it is."""

    message: str
    param: str


class UpstreamError(Exception):
    """An upstream request that did not succeed.

    `retryable` ones (429, 5xx, timeouts, dropped connections, a key the upstream refused) leave
    the job as it is for a later try, after `retry_after` seconds when the upstream said so;
    the others are the upstream's final word on the request (a 400, say).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        param: str | None = None,
        retryable: bool,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.param = param
        self.retryable = retryable
        self.retry_after = retry_after

    @property
    def not_found(self) -> bool:
        return self.status == 404


class UpstreamFileNotFound(UpstreamError):
    """The upstream refused a create because a file it names (`param`: `training_file` or
    `validation_file`, `file_id`: the upstream's id) does not exist there: it lost a copy ftgate
    uploaded before (deleted, another account behind the key, an upstream that restarted). The
    create took no effect; uploading the file again and sending it again is safe."""

    def __init__(self, refusal: UpstreamError, param: str, file_id: str) -> None:
        super().__init__(
            refusal.message, status=refusal.status, code=refusal.code, param=param, retryable=False
        )
        self.file_id = file_id


class Driver(StrEnum):
    """What moves a provider's jobs on once their files are checked."""

    # ftgate's own trainer: it takes a job up when the job is queued (again).
    TRAINER = "trainer"
    # An upstream runs the job: ftgate sends it there, carries the client's actions to it and
    # looks at it on a schedule.
    LOOKS = "looks"


class JobProvider(Protocol):
    """What every provider answers, the local trainer and each upstream alike."""

    name: str
    # The client actions the provider carries out; the others are refused before they are taken.
    actions: frozenset[Action]
    driver: Driver
    # Whether ftgate's own engine serves chats with its base models and the models it tuned.
    chats_here: bool

    def unsupported(self, request: dict[str, Any]) -> Unsupported | None:
        """What of an OpenAI-shaped create request (`model`, `method`, `suffix`, `seed`,
        `integrations`, `validation_file`…) this provider cannot do, if anything."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class Provider(JobProvider, Protocol):
    """An upstream: a service that trains and serves jobs for ftgate over HTTP."""

    async def upload_file(self, filename: str, content: BinaryIO, purpose: str) -> str: ...

    async def estimate_cost(self, request: dict[str, Any]) -> int | None:
        """The upstream's estimate of what the create `request` will cost, in micro-USD, asked
        before it is sent; None where the operator did not ask for the upstream's figure
        (`upstream_estimates`) or the upstream has none. UpstreamError (a 400 naming why) when
        the upstream says the job may not run; UpstreamFileNotFound as for `submit`."""
        ...

    async def submit(self, request: dict[str, Any]) -> UpstreamJob:
        """Create the job; UpstreamFileNotFound when a file it names is not at the upstream."""
        ...

    async def find_job(self, lookup: JobLookup) -> UpstreamJob | None: ...

    async def get_job(self, job_id: str) -> UpstreamJob: ...

    async def events(self, job_id: str, after: str | None, limit: int) -> Page[UpstreamEvent]: ...

    async def checkpoints(self, job_id: str, after: str | None, limit: int) -> Page[UpstreamCheckpoint]: ...

    async def act(self, job_id: str, action: Action) -> UpstreamJob: ...

    async def fetch_file(self, file_id: str) -> UpstreamFile: ...

    async def chat(self, body: dict[str, Any]) -> ChatReply: ...


@runtime_checkable
class AdapterSource(Protocol):
    """An upstream whose trained adapters can be downloaded (Together), to be served at home."""

    async def download_adapter(self, job_id: str, into: Path, limit: int) -> str:
        """The adapter of the upstream job `job_id` as the upstream archives it, written to the
        file `into` (at most `limit` bytes); its SHA-256."""
        ...
