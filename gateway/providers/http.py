"""One upstream's HTTP client: its base URL and key, and the retries every provider shares (429,
5xx and, where resending is safe, timeouts and dropped connections), failures raised as
UpstreamError in OpenAI's error envelope (which Together answers with too) or google.rpc.Status's
(Fireworks: `{"error": {"code": 404, "message", "status": "NOT_FOUND"}}`, or the same unwrapped)."""

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

import anyio
import httpx
from httpx_aiohttp import AiohttpTransport

from gateway.observability.metrics import UPSTREAM_ERRORS, UPSTREAM_REQUESTS, UPSTREAM_RETRIES
from gateway.providers import retry
from gateway.providers.base import ChatReply, UpstreamError, UpstreamFileNotFound
from gateway.providers.config import UpstreamSpec

log = logging.getLogger(__name__)

USER_AGENT = "ftgate/0.1"
NO_ANSWER = "no_answer"  # the outcome of a try that timed out or lost its connection
FILE_PARAMS = ("training_file", "validation_file")
# How upstreams word "no such file" in a 400 (OpenAI: `invalid training_file: <id>`).
NOT_FOUND_WORDING = re.compile(
    r"^invalid (training|validation)_file:\s*$|no such file|not found|does not exist", re.IGNORECASE
)


class UpstreamHttp:
    """`base_url` and `auth` (the headers that carry the key) default to the upstream's base URL
    and its API key as a Bearer token."""

    def __init__(
        self,
        spec: UpstreamSpec,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        base_url: str | None = None,
        auth: dict[str, str] | None = None,
    ) -> None:
        self.name = spec.name
        self.spec = spec
        if auth is None:
            auth = {"authorization": f"Bearer {spec.api_key.get_secret_value()}"}
        self.client = httpx.AsyncClient(
            base_url=base_url or str(spec.base_url),
            headers=auth | {"user-agent": USER_AGENT},
            timeout=httpx.Timeout(spec.timeout_seconds, connect=min(spec.timeout_seconds, 5.0)),
            transport=transport or AiohttpTransport(),
        )

    async def chat(self, body: dict[str, Any], url: str = "/chat/completions") -> ChatReply:
        """`url`: relative to the base URL, or absolute where the upstream serves chat elsewhere."""
        response = await self.request("POST", url, stream=True, json=body)
        return ChatReply(
            status_code=response.status_code,
            content_type=response.headers.get("content-type", "application/json"),
            headers={key: value for key, value in response.headers.items() if key.startswith("x-ratelimit-")},
            body=_body(response),
        )

    async def download(self, path: str, params: dict[str, Any], into: Path, limit: int) -> str:
        """Stream the file at `path` (or where the upstream redirects: a signed URL, which gets no
        key) into the file `into`, and return its SHA-256; more than `limit` bytes is an error."""
        response = await self.request("GET", path, params=params, stream=True, follow_redirects=True)
        digest = hashlib.sha256()
        size = 0
        try:
            async with await anyio.open_file(into, "wb") as file:
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise UpstreamError(
                            f"{self.name}: {path} is larger than {limit} bytes", status=413, retryable=False
                        )
                    digest.update(chunk)
                    await file.write(chunk)
        finally:
            await response.aclose()
        return digest.hexdigest()

    async def close(self) -> None:
        await self.client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        safe_to_resend: bool = True,
        stream: bool = False,
        follow_redirects: bool = False,
        rewind: BinaryIO | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send, retrying 429/5xx answers (and, when `safe_to_resend`, timeouts and dropped
        connections) up to the upstream's `attempts`; raise UpstreamError otherwise.

        A request that may have taken effect upstream without an answer (a timed-out create) is
        never resent here: the caller looks it up before trying again.
        """
        try:
            return await self._send(method, path, safe_to_resend, stream, follow_redirects, rewind, kwargs)
        except UpstreamError as failure:
            UPSTREAM_ERRORS.labels(self.name, failure.status or NO_ANSWER).inc()
            raise

    async def _send(
        self,
        method: str,
        path: str,
        safe_to_resend: bool,
        stream: bool,
        follow_redirects: bool,
        rewind: BinaryIO | None,
        kwargs: dict[str, Any],
    ) -> httpx.Response:
        failure: UpstreamError | None = None
        for attempt in range(self.spec.attempts):
            if attempt:
                assert failure is not None
                UPSTREAM_RETRIES.labels(self.name).inc()
                await asyncio.sleep(
                    failure.retry_after if failure.retry_after is not None else retry.backoff(attempt - 1)
                )
            if rewind is not None:
                rewind.seek(0)
            try:
                request = self.client.build_request(method, path, **kwargs)
                response = await self.client.send(request, stream=stream, follow_redirects=follow_redirects)
            except httpx.TransportError as error:
                UPSTREAM_REQUESTS.labels(self.name, NO_ANSWER).inc()
                failure = UpstreamError(
                    f"{self.name}: {method} {path} got no answer ({type(error).__name__})", retryable=True
                )
                if not safe_to_resend:
                    raise failure from error
                continue
            UPSTREAM_REQUESTS.labels(self.name, response.status_code).inc()
            if response.is_success:
                return response
            if stream:
                await response.aread()
            failure = _error(self.name, response)
            if not failure.retryable or (
                failure.retry_after is not None and failure.retry_after > self.spec.max_retry_after_seconds
            ):
                raise failure
        assert failure is not None
        raise failure


async def _body(response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_bytes():
            yield chunk
    finally:
        await response.aclose()


def _error(upstream: str, response: httpx.Response) -> UpstreamError:
    try:
        answered = response.json()
        envelope = answered.get("error") or (answered if "message" in answered else {})
        if not envelope and isinstance(answered.get("error_message"), str):  # SGLang's refusals
            envelope = {"message": answered["error_message"]}
    except (json.JSONDecodeError, AttributeError, UnicodeDecodeError):
        envelope = {}
    if not isinstance(envelope, dict):
        envelope = {"message": str(envelope)}
    # google.rpc.Status: `code` is the HTTP (or gRPC) number, `status` its name (NOT_FOUND…).
    code = envelope.get("code")
    if not isinstance(code, str):
        code = envelope.get("status") if isinstance(envelope.get("status"), str) else None
    message = envelope.get("message") or response.text[:500] or response.reason_phrase
    status = response.status_code
    retryable = retry.should_retry(response) or status in retry.WAIT_FOR_OPERATOR_STATUSES
    if status in retry.WAIT_FOR_OPERATOR_STATUSES:
        log.error("upstream %s refused ftgate's key (%s): %s", upstream, status, message)
    return UpstreamError(
        str(message),
        status=status,
        code=code,
        param=envelope.get("param"),
        retryable=retryable,
        retry_after=retry.retry_after(response),
    )


def missing_file(error: UpstreamError, request: dict[str, Any]) -> UpstreamFileNotFound | None:
    """The file of `request` that `error` says the upstream does not have, if that is what it says.

    OpenAI answers 400 `invalid training_file: <id>` (param `training_file`); other upstreams a 404
    such as `No such File object: <id>`. Either way the answer names the file's id.
    """
    if error.retryable or error.status not in (400, 404):
        return None
    for param in FILE_PARAMS:
        file_id = request.get(param)
        if not file_id or file_id not in error.message:
            continue
        if error.status == 404 or NOT_FOUND_WORDING.search(error.message.replace(file_id, "")):
            return UpstreamFileNotFound(error, param, file_id)
    return None
