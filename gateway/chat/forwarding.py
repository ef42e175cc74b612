"""Chat requests for models that an upstream serves: the caller's body, sent on with the
upstream's own key, and the upstream's answer (streamed or not) passed back as it came, its
usage billed and paid to the caller's tokens-per-minute bucket. A stream always asks the upstream
for its usage; the caller sees it only if it asked too. Once a successful answer has been sent
whole, `on_answer` gets the bytes that were passed on (capture records them)."""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from gateway.chat.metering import UsageHook, metered_events, reported_usage
from gateway.errors import BadGateway, GatewayError, InvalidRequest, NotFound, RateLimited
from gateway.providers.base import ChatUpstream, UpstreamError

log = logging.getLogger(__name__)

# Called with the answer's bytes as the upstream sent them, and whether they were a stream.
AnswerHook = Callable[[bytes, bool], Awaitable[None]]


async def forward(
    provider: ChatUpstream,
    body: dict[str, Any],
    model: str,
    caller_model: str,
    on_usage: UsageHook,
    on_answer: AnswerHook | None = None,
) -> Response:
    stream_options = body.get("stream_options") or {}
    show_usage = stream_options.get("include_usage") is True
    upstream_body = body | {"model": model}
    if body.get("stream") is True:
        upstream_body["stream_options"] = stream_options | {"include_usage": True}
    try:
        reply = await provider.chat(upstream_body)
    except UpstreamError as error:
        raise _client_error(provider.name, caller_model, error) from error
    answered = on_answer if reply.status_code == 200 else None
    if reply.content_type.startswith("text/event-stream"):
        events, after = _kept(reply.body, answered)
        return StreamingResponse(
            metered_events(events, on_usage, show_usage),
            status_code=reply.status_code,
            media_type="text/event-stream",
            headers=reply.headers | {"cache-control": "no-cache"},
            background=after,
        )
    content = b"".join([chunk async for chunk in reply.body])
    if reply.status_code == 200 and (usage := reported_usage(content)) is not None:
        await on_usage(*usage)
    return Response(
        content,
        status_code=reply.status_code,
        media_type=reply.content_type,
        headers=reply.headers,
        background=BackgroundTask(answered, content, False) if answered is not None else None,
    )


def _kept(
    body: AsyncIterator[bytes], on_answer: AnswerHook | None
) -> tuple[AsyncIterator[bytes], BackgroundTask | None]:
    """The stream passed through, and a task for after the response that hands the whole
    stream on, only if it was read to its end (not when the upstream or the client cut it)."""
    if on_answer is None:
        return body, None
    pieces: list[bytes] = []
    whole = False

    async def kept() -> AsyncIterator[bytes]:
        nonlocal whole
        async for piece in body:
            pieces.append(piece)
            yield piece
        whole = True

    async def after() -> None:
        if whole:
            await on_answer(b"".join(pieces), True)

    return kept(), BackgroundTask(after)


def _client_error(upstream: str, model: str, error: UpstreamError) -> GatewayError:
    """The upstream's refusals are the caller's to see; its failures and ftgate's own key
    troubles are not: they become a 502 without the upstream's words."""
    if error.status == 429:
        headers = {"retry-after": str(int(error.retry_after))} if error.retry_after is not None else {}
        return RateLimited(error.message, code=error.code or "rate_limit_exceeded", headers=headers)
    if error.status == 404:
        return NotFound(error.message, param=error.param, code=error.code)
    if error.status in (400, 422):
        return InvalidRequest(error.message, param=error.param, code=error.code)
    log.error("chat with %s at upstream %s failed: %s (status %s)", model, upstream, error, error.status)
    return BadGateway(f"The upstream that serves the model `{model}` is unavailable. Please try again later.")
