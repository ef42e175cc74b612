"""The `openai` provider: OpenAI's HTTP API at any base URL (OpenAI itself, a reseller, another
ftgate), with the upstream's own key, retrying what the upstream asks us to retry."""

from collections.abc import Mapping
from typing import Any, BinaryIO

import httpx

from gateway.providers.base import (
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

LOOKUP_PAGE = 100


class OpenAIProvider:
    actions: frozenset[Action] = frozenset({"cancel", "pause", "resume"})
    # The upstream's words for a job's state where they are not OpenAI's.
    state_names: Mapping[str, UpstreamStatus] = {}
    driver = Driver.LOOKS
    chats_here = False

    def __init__(self, spec: UpstreamSpec, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.name = spec.name
        self.http = UpstreamHttp(spec, transport, auth=self.auth(spec))

    @staticmethod
    def auth(spec: UpstreamSpec) -> dict[str, str] | None:
        """The headers that carry the upstream's key (None: a Bearer token)."""
        return None

    def unsupported(self, request: dict[str, Any]) -> Unsupported | None:
        return None

    async def upload_file(self, filename: str, content: BinaryIO, purpose: str) -> str:
        response = await self.http.request(
            "POST",
            "/files",
            safe_to_resend=False,
            rewind=content,
            data={"purpose": purpose},
            files={"file": (filename, content, "application/jsonl")},
        )
        return str(response.json()["id"])

    async def estimate_cost(self, request: dict[str, Any]) -> int | None:
        return None  # OpenAI's API gives no estimate

    async def submit(self, request: dict[str, Any]) -> UpstreamJob:
        try:
            response = await self.http.request(
                "POST", "/fine_tuning/jobs", safe_to_resend=False, json=request
            )
        except UpstreamError as error:
            missing = missing_file(error, request)
            if missing is None:
                raise
            raise missing from error
        return self.to_upstream_job(response.json())

    async def find_job(self, lookup: JobLookup) -> UpstreamJob | None:
        """The job submitted with the lookup's metadata marker, among the newest jobs (an
        upstream that ignores the metadata filter still lists them newest first)."""
        metadata_key, value = lookup.metadata_key, lookup.job_id
        params = {f"metadata[{metadata_key}]": value, "limit": LOOKUP_PAGE}
        response = await self.http.request("GET", "/fine_tuning/jobs", params=params)
        for item in response.json().get("data", []):
            if (item.get("metadata") or {}).get(metadata_key) == value:
                return self.to_upstream_job(item)
        return None

    async def get_job(self, job_id: str) -> UpstreamJob:
        response = await self.http.request("GET", f"/fine_tuning/jobs/{job_id}")
        return self.to_upstream_job(response.json())

    async def events(self, job_id: str, after: str | None, limit: int) -> Page[UpstreamEvent]:
        body = await self._list(f"/fine_tuning/jobs/{job_id}/events", after, limit)
        return Page([_event(item) for item in body.get("data", [])], bool(body.get("has_more")))

    async def checkpoints(self, job_id: str, after: str | None, limit: int) -> Page[UpstreamCheckpoint]:
        body = await self._list(f"/fine_tuning/jobs/{job_id}/checkpoints", after, limit)
        return Page([_checkpoint(item) for item in body.get("data", [])], bool(body.get("has_more")))

    async def act(self, job_id: str, action: Action) -> UpstreamJob:
        response = await self.http.request("POST", f"/fine_tuning/jobs/{job_id}/{action}")
        return self.to_upstream_job(response.json())

    async def fetch_file(self, file_id: str) -> UpstreamFile:
        described = await self.http.request("GET", f"/files/{file_id}")
        content = await self.http.request("GET", f"/files/{file_id}/content")
        return UpstreamFile(
            filename=str(described.json().get("filename") or file_id), content=content.content
        )

    async def chat(self, body: dict[str, Any]) -> ChatReply:
        return await self.http.chat(body)

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """A GET with this upstream's retries, for readers beyond the Provider interface (the
        import of an organisation's history)."""
        return await self.http.request("GET", path, params=params)

    async def _list(self, path: str, after: str | None, limit: int) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        response = await self.http.request("GET", path, params=params)
        return dict(response.json())

    def to_upstream_job(self, item: dict[str, Any]) -> UpstreamJob:
        return UpstreamJob(
            id=str(item["id"]),
            status=UpstreamStatus.read(str(item["status"]), self.state_names),
            fine_tuned_model=item.get("fine_tuned_model"),
            trained_tokens=item.get("trained_tokens"),
            finished_at=item.get("finished_at"),
            estimated_finish=item.get("estimated_finish"),
            error=item.get("error") or None,
            result_files=list(item.get("result_files") or []),
        )


def _event(item: dict[str, Any]) -> UpstreamEvent:
    return UpstreamEvent(
        id=str(item["id"]),
        created_at=int(item["created_at"]),
        level=str(item.get("level") or "info"),
        message=str(item.get("message") or ""),
        data=item.get("data"),
        type=str(item.get("type") or "message"),
    )


def _checkpoint(item: dict[str, Any]) -> UpstreamCheckpoint:
    return UpstreamCheckpoint(
        id=str(item["id"]),
        created_at=int(item["created_at"]),
        name=str(item["fine_tuned_model_checkpoint"]),
        step_number=int(item["step_number"]),
        metrics={
            key: float(value) for key, value in (item.get("metrics") or {}).items() if value is not None
        },
    )
