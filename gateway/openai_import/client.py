"""Reading an OpenAI organisation's fine-tuning history: every job, and each job's events,
checkpoints and files, all pages, as the upstream's own dicts. Requests and their retries go
through OpenAIProvider."""

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.providers.base import UpstreamError
from gateway.providers.config import UpstreamSpec
from gateway.providers.openai import OpenAIProvider

log = logging.getLogger(__name__)

PAGE = 100
MAX_PAGES = 10_000


@dataclass(frozen=True)
class JobDetails:
    """What goes with one job: its events and checkpoints oldest first, and the descriptions of
    its files (None for a file the upstream no longer has)."""

    events: list[dict[str, Any]]
    checkpoints: list[dict[str, Any]]
    files: dict[str, dict[str, Any] | None]


class OpenAIHistory:
    def __init__(self, spec: UpstreamSpec, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.provider = OpenAIProvider(spec, transport)
        self.base_url = str(spec.base_url).rstrip("/")

    async def jobs(self) -> list[dict[str, Any]]:
        """Every job of the organisation, newest first."""
        return await self._all("/fine_tuning/jobs")

    async def details(self, job: dict[str, Any], file_ids: list[str]) -> JobDetails:
        events, checkpoints, described = await asyncio.gather(
            self._all(f"/fine_tuning/jobs/{job['id']}/events"),
            self._all(f"/fine_tuning/jobs/{job['id']}/checkpoints"),
            asyncio.gather(*(self.file(file_id) for file_id in file_ids)),
        )
        return JobDetails(events[::-1], checkpoints[::-1], dict(zip(file_ids, described, strict=True)))

    async def file(self, file_id: str) -> dict[str, Any] | None:
        try:
            return dict((await self.provider.get(f"/files/{file_id}")).json())
        except UpstreamError as error:
            if error.not_found:
                return None
            raise

    async def content(self, file_id: str) -> bytes | None:
        """A file's content as the upstream serves it (a results CSV comes base64-encoded, and is
        kept so); None when it is gone or refused (OpenAI refuses `fine-tune` files)."""
        try:
            return (await self.provider.get(f"/files/{file_id}/content")).content
        except UpstreamError as error:
            if error.retryable:
                raise
            log.warning("file %s: the upstream did not give its content: %s", file_id, error.message)
            return None

    async def close(self) -> None:
        await self.provider.close()

    async def _all(self, path: str) -> list[dict[str, Any]]:
        """Every item of a list, in its order (newest first), read page by page; an item a page
        repeats is kept once."""
        found: dict[str, dict[str, Any]] = {}
        after: str | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"limit": PAGE} | ({"after": after} if after else {})
            body = (await self.provider.get(path, params)).json()
            items = body.get("data") or []
            for item in items:
                found.setdefault(str(item["id"]), item)
            if not items or not body.get("has_more"):
                return list(found.values())
            after = str(items[-1]["id"])
        log.warning("%s: stopped after %d pages", path, MAX_PAGES)
        return list(found.values())
