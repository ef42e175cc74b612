"""The `fireworks` provider: Fireworks AI's fine-tuning API (`https://api.fireworks.ai/v1`,
Bearer, everything under `accounts/{account_id}`), behind the same Provider interface as
OpenAI's; the shapes are mapped in `fireworks_wire`.

Files become datasets: created (`POST …/datasets`, id from the content's hash), uploaded
(`…:upload`), validated (`…:validateUpload`) and read until READY; their resource name is the
file's id at Fireworks. A dataset that already exists (a retried upload) is read, and uploaded
only if it is not READY yet.

Supervised jobs are `supervisedFineTuningJobs`, DPO jobs `dpoJobs` (ftgate's id of one is
`dpoJobs/{id}`): each is created, read and cancelled under its own collection.

Exactly one Fireworks job per ftgate job: ftgate chooses the job's id (from its own job id), so
a create whose answer was lost is found by reading that id (404: not made), and a create
answered ALREADY_EXISTS reads the job it made before.

Fireworks keeps no events and no checkpoints: events are synthesised from the job and its metrics
file (`fireworks_wire.events`), fetched from the signed URL without ftgate's key. Fireworks has
no pause or resume: they are refused before they are taken (`actions`). A succeeded job's
`fine_tuned_model` is its output model (`accounts/{a}/models/{id}`); chat with it goes to the
upstream's inference URL under that name.

Fireworks has no price estimate to ask before a job is sent: where the operator wants the
upstream's figure (`upstream_estimates`), the `estimatedCost` its jobs carry comes with each read
of the job (the mirror raises the job's reservation to it).
"""

import asyncio
import hashlib
import logging
from typing import Any, BinaryIO

import anyio
import httpx
from httpx_aiohttp import AiohttpTransport

from gateway.providers import fireworks_wire as wire
from gateway.providers.base import (
    UPSTREAM_TERMINAL,
    Action,
    ChatReply,
    Driver,
    JobLookup,
    Page,
    Unsupported,
    UpstreamCheckpoint,
    UpstreamError,
    UpstreamEvent,
    UpstreamFile,
    UpstreamJob,
)
from gateway.providers.config import UpstreamSpec
from gateway.providers.http import UpstreamHttp, missing_file

log = logging.getLogger(__name__)

# How long an upload waits for Fireworks to find its dataset READY, and how often it looks.
DATASET_READY_SECONDS = 60.0
DATASET_POLL_SECONDS = 0.2
ALREADY_EXISTS = "ALREADY_EXISTS"


class FireworksProvider:
    actions: frozenset[Action] = frozenset({"cancel"})
    driver = Driver.LOOKS
    chats_here = False

    def __init__(self, spec: UpstreamSpec, transport: httpx.AsyncBaseTransport | None = None) -> None:
        assert spec.account_id is not None
        self.name = spec.name
        self.account = spec.account_id
        self.http = UpstreamHttp(spec, transport)
        self.estimates = spec.upstream_estimates
        self.chat_url = f"{spec.chat_base_url}/chat/completions"
        # Signed URLs (metrics files) are fetched without ftgate's key.
        self.signed = httpx.AsyncClient(
            timeout=httpx.Timeout(spec.timeout_seconds), transport=transport or AiohttpTransport()
        )

    @property
    def prefix(self) -> str:
        return f"/accounts/{self.account}"

    def unsupported(self, request: dict[str, Any]) -> Unsupported | None:
        return wire.unsupported(request)

    async def upload_file(self, filename: str, content: BinaryIO, purpose: str) -> str:
        digest, examples = await anyio.to_thread.run_sync(_digest, content)
        dataset_id = wire.dataset_id_of_hash(digest)
        path = f"{self.prefix}/datasets/{dataset_id}"
        dataset = {
            "displayName": filename[:63],
            "exampleCount": str(examples),
            "userUploaded": {},
            "format": "CHAT",
        }
        try:
            await self.http.request(
                "POST", f"{self.prefix}/datasets", json={"datasetId": dataset_id, "dataset": dataset}
            )
        except UpstreamError as error:
            if not _already_exists(error):
                raise
            if wire.state((await self.http.request("GET", path)).json()) == wire.DATASET_READY:
                return path.lstrip("/")
        await self.http.request(
            "POST", f"{path}:upload", rewind=content, files={"file": (filename, content, "application/jsonl")}
        )
        await self.http.request("POST", f"{path}:validateUpload", json={})
        return await self._ready(path)

    async def _ready(self, path: str) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DATASET_READY_SECONDS
        while True:
            found = (await self.http.request("GET", path)).json()
            state = wire.state(found)
            if state == wire.DATASET_READY:
                return str(found.get("name") or path.lstrip("/"))
            words = (found.get("status") or {}).get("message")
            if words and state not in ("UPLOADING", "STATE_UNSPECIFIED", ""):
                raise UpstreamError(
                    f"Fireworks refused the training data: {words}", status=400, retryable=False
                )
            if loop.time() > deadline:
                raise UpstreamError(f"{self.name}: dataset {path} is not ready yet ({state})", retryable=True)
            await asyncio.sleep(DATASET_POLL_SECONDS)

    async def estimate_cost(self, request: dict[str, Any]) -> int | None:
        return None  # Fireworks' estimate comes on the job, once it exists

    async def submit(self, request: dict[str, Any]) -> UpstreamJob:
        refused = wire.unsupported(request)
        if refused is not None:
            raise UpstreamError(refused.message, status=400, param=refused.param, retryable=False)
        marker = (request.get("metadata") or {}).get("ftgate_job_id")
        job_id = wire.job_id(str(marker)) if marker else None
        jobs = wire.collection(request)
        body = wire.create_body(request, self.account, job_id or "ftgate")
        params = {wire.ID_PARAMS[jobs]: job_id} if job_id else {}
        if job_id is None:
            (body.get("trainingConfig") or body).pop("outputModel")  # named after the job Fireworks chooses
        try:
            response = await self.http.request(
                "POST", f"{self.prefix}/{jobs}", safe_to_resend=False, params=params, json=body
            )
        except UpstreamError as error:
            if job_id is not None and _already_exists(error):
                return await self.get_job(wire.upstream_job_id(jobs, job_id))
            missing = missing_file(error, request)
            if missing is None:
                raise
            raise missing from error
        return wire.job(response.json(), self.estimates)

    async def find_job(self, lookup: JobLookup) -> UpstreamJob | None:
        job_id = wire.upstream_job_id(wire.collection(lookup.request), wire.job_id(lookup.job_id))
        if job_id in lookup.taken:
            return None
        try:
            return await self.get_job(job_id)
        except UpstreamError as error:
            if error.not_found:
                return None
            raise

    async def get_job(self, job_id: str) -> UpstreamJob:
        return wire.job(await self._read_job(job_id), self.estimates)

    async def events(self, job_id: str, after: str | None, limit: int) -> Page[UpstreamEvent]:
        item = await self._read_job(job_id)
        return wire.page(wire.events(item, await self._metrics(item)), after, limit)

    async def checkpoints(self, job_id: str, after: str | None, limit: int) -> Page[UpstreamCheckpoint]:
        return Page([], False)

    async def act(self, job_id: str, action: Action) -> UpstreamJob:
        """Cancel, once: a job Fireworks is cancelling or that has ended is not asked again."""
        if action not in self.actions:
            raise UpstreamError(f"Fireworks cannot {action} a fine-tuning job.", status=400, retryable=False)
        item = await self._read_job(job_id)
        if wire.state(item) != "CANCELLING" and wire.status(item) not in UPSTREAM_TERMINAL:
            await self.http.request("POST", f"{self.prefix}/{wire.job_path(job_id)}:cancel", json={})
        return await self.get_job(job_id)

    async def fetch_file(self, file_id: str) -> UpstreamFile:
        raise UpstreamError(f"Fireworks keeps no result file {file_id}.", status=404, retryable=False)

    async def chat(self, body: dict[str, Any]) -> ChatReply:
        return await self.http.chat(body, self.chat_url)

    async def close(self) -> None:
        await self.http.close()
        await self.signed.aclose()

    async def _read_job(self, job_id: str) -> dict[str, Any]:
        response = await self.http.request("GET", f"{self.prefix}/{wire.job_path(job_id)}")
        return dict(response.json())

    async def _metrics(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """The lines of the job's metrics file; none where it has none yet or its URL is refused
        (expired). One that does not answer leaves the look for later, as any upstream failure."""
        url = item.get("metricsFileSignedUrl")
        if not url:
            return []
        try:
            response = await self.signed.get(str(url))
        except httpx.HTTPError as error:
            raise UpstreamError(
                f"{self.name}: the metrics file of {item.get('name')} got no answer ({type(error).__name__})",
                retryable=True,
            ) from error
        if response.status_code == 429 or response.status_code >= 500:
            raise UpstreamError(
                f"{self.name}: the metrics file of {item.get('name')} answered {response.status_code}",
                status=response.status_code,
                retryable=True,
            )
        if not response.is_success:
            log.info(
                "%s: the metrics file of %s answered %s", self.name, item.get("name"), response.status_code
            )
            return []
        return wire.metrics_lines(response.text)


def _digest(content: BinaryIO) -> tuple[str, int]:
    """The content's SHA-256 and its count of non-empty lines, read in chunks."""
    digest = hashlib.sha256()
    lines = 0
    partial = b""
    content.seek(0)
    while chunk := content.read(1 << 20):
        digest.update(chunk)
        *whole, partial = (partial + chunk).split(b"\n")
        lines += sum(1 for line in whole if line.strip())
    content.seek(0)
    return digest.hexdigest(), lines + (1 if partial.strip() else 0)


def _already_exists(error: UpstreamError) -> bool:
    return error.status == 409 or error.code == ALREADY_EXISTS
