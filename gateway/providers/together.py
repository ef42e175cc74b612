"""The `together` provider: Together AI's fine-tuning API (`https://api.together.xyz/v1`, Bearer),
behind the same Provider interface as OpenAI's; the shapes are mapped in `together_wire`.

Exactly one Together job per ftgate job: Together jobs carry no metadata, so a create whose
answer was lost is found by what ftgate sent: the jobs Together lists (`GET /fine-tunes`, one
page) whose training and validation files (ftgate's uploads), model, method, epochs, batch size,
learning rate and suffix (in the output model's name) are the create's, made no earlier than the
send (less `CLOCK_SKEW_SECONDS`) and not already held by another ftgate job; the oldest of them
is the job. Jobs that match alike are the same training, so whichever a lost create takes, each
ftgate job gets its own: the worker records them one at a time per training file, and a job
whose find another job recorded first looks again (workers/upstream/submission.py).

Together has no pause or resume: they are refused before they are taken (`actions`). A job's
trained adapter can be downloaded, to be served at home (gateway/home).

Where the operator wants the upstream's figure (`upstream_estimates`), a job's price is asked of
`POST /fine-tunes/estimate-price` before it is sent (`estimate_cost`).
"""

from pathlib import Path
from typing import Any, BinaryIO

import httpx

from gateway.providers import together_wire as wire
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
    UpstreamStatus,
)
from gateway.providers.config import UpstreamSpec
from gateway.providers.http import UpstreamHttp, missing_file

# How far Together's clock may run behind ftgate's when a lost create is looked up.
CLOCK_SKEW_SECONDS = 600


class TogetherProvider:
    actions: frozenset[Action] = frozenset({"cancel"})
    driver = Driver.LOOKS
    chats_here = False

    def __init__(self, spec: UpstreamSpec, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.name = spec.name
        self.http = UpstreamHttp(spec, transport)
        self.estimates = spec.upstream_estimates
        # Each job's events as its last read from the newest found them, while pages remain.
        self._listed: dict[str, list[UpstreamEvent]] = {}

    def unsupported(self, request: dict[str, Any]) -> Unsupported | None:
        return wire.unsupported(request)

    async def upload_file(self, filename: str, content: BinaryIO, purpose: str) -> str:
        response = await self.http.request(
            "POST",
            "/files/upload",
            safe_to_resend=False,
            rewind=content,
            data={"purpose": purpose, "file_name": filename, "file_type": "jsonl"},
            files={"file": (filename, content, "application/jsonl")},
        )
        return str(response.json()["id"])

    async def estimate_cost(self, request: dict[str, Any]) -> int | None:
        if not self.estimates:
            return None
        try:
            response = await self.http.request(
                "POST", "/fine-tunes/estimate-price", json=wire.estimate_body(request)
            )
        except UpstreamError as error:
            missing = missing_file(error, request)
            if missing is None:
                raise
            raise missing from error
        return wire.estimated_cost(response.json())

    async def submit(self, request: dict[str, Any]) -> UpstreamJob:
        refused = wire.unsupported(request)
        if refused is not None:
            raise UpstreamError(refused.message, status=400, param=refused.param, retryable=False)
        try:
            response = await self.http.request(
                "POST", "/fine-tunes", safe_to_resend=False, json=wire.create_body(request)
            )
        except UpstreamError as error:
            missing = missing_file(error, request)
            if missing is None:
                raise
            raise missing from error
        return await self._job(response.json())

    async def find_job(self, lookup: JobLookup) -> UpstreamJob | None:
        body = wire.create_body(lookup.request)
        listed = (await self.http.request("GET", "/fine-tunes")).json().get("data") or []
        found = [
            item
            for item in listed
            if item.get("id") not in lookup.taken
            and wire.is_same_create(item, body, lookup.sent_at - CLOCK_SKEW_SECONDS)
        ]
        if not found:
            return None
        return await self._job(min(found, key=lambda item: wire.unix(item.get("created_at"))))

    async def get_job(self, job_id: str) -> UpstreamJob:
        return await self._job((await self.http.request("GET", f"/fine-tunes/{job_id}")).json())

    async def events(self, job_id: str, after: str | None, limit: int) -> Page[UpstreamEvent]:
        """Together lists a job's events whole: a read from the newest (`after` None) fetches
        them, and the pages after it are cut from that fetch."""
        listed = self._listed.get(job_id) if after is not None else None
        if listed is None:
            items = await self._events(job_id)
            completed = any(item.get("type") == "job_complete" for item in items)
            model = wire.output_name(await self._read_job(job_id)) if completed else None
            listed = self._listed[job_id] = wire.events(items, await self._metrics(job_id), model)
        page = wire.page(listed, after, limit)
        if not page.has_more:
            self._listed.pop(job_id, None)
        return page

    async def checkpoints(self, job_id: str, after: str | None, limit: int) -> Page[UpstreamCheckpoint]:
        listed = await self.http.request("GET", f"/fine-tunes/{job_id}/checkpoints")
        model = wire.output_name(await self._read_job(job_id))
        losses = wire.losses(await self._metrics(job_id))
        return wire.page(wire.checkpoints(listed.json().get("data") or [], model, losses), after, limit)

    async def act(self, job_id: str, action: Action) -> UpstreamJob:
        """Cancel, once: a job whose cancel Together is carrying out (`cancel_requested`, shown as
        running) or that has ended is not asked again."""
        if action not in self.actions:
            raise UpstreamError(f"Together cannot {action} a fine-tuning job.", status=400, retryable=False)
        status = (await self._read_job(job_id)).get("status", "")
        if (
            status != "cancel_requested"
            and UpstreamStatus.read(status, wire.STATUSES) not in UPSTREAM_TERMINAL
        ):
            await self.http.request("POST", f"/fine-tunes/{job_id}/cancel")
        return await self.get_job(job_id)

    async def fetch_file(self, file_id: str) -> UpstreamFile:
        content = await self.http.request("GET", f"/files/{file_id}/content")
        return UpstreamFile(filename=file_id, content=content.content)

    async def download_adapter(self, job_id: str, into: Path, limit: int) -> str:
        """`GET /finetune/download` of the job's LoRA adapter: a tar archive, zstd-compressed."""
        params = {"ft_id": job_id, "checkpoint": "adapter"}
        return await self.http.download("/finetune/download", params, into, limit)

    async def chat(self, body: dict[str, Any]) -> ChatReply:
        return await self.http.chat(body)

    async def close(self) -> None:
        await self.http.close()

    async def _job(self, item: dict[str, Any]) -> UpstreamJob:
        """The job record; a failed job's words come from its events when it came without them."""
        if wire.STATUSES.get(item.get("status", "")) == UpstreamStatus.FAILED and not item.get("events"):
            item = item | {"events": await self._events(str(item["id"]))}
        return wire.job(item)

    async def _read_job(self, job_id: str) -> dict[str, Any]:
        return dict((await self.http.request("GET", f"/fine-tunes/{job_id}")).json())

    async def _events(self, job_id: str) -> list[dict[str, Any]]:
        response = await self.http.request("GET", f"/fine-tunes/{job_id}/events")
        return list(response.json().get("data") or [])

    async def _metrics(self, job_id: str) -> list[dict[str, Any]] | None:
        """The job's logged steps, or None where Together does not answer `/metrics` (its steps
        then come from the progress events)."""
        try:
            response = await self.http.request("GET", f"/fine-tunes/{job_id}/metrics")
        except UpstreamError as error:
            if error.retryable:
                raise
            return None
        return list(response.json().get("data") or [])
