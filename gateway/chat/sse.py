"""Server-sent events as OpenAI streams them: `data: {chunk}` frames, then `data: [DONE]`."""

import json
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing

from fastapi.responses import StreamingResponse

from gateway.chat.schemas import ChatCompletionChunk
from gateway.request_context import SERVER_ERROR

log = logging.getLogger(__name__)

DONE = b"data: [DONE]\n\n"
ERROR = b"data: " + json.dumps(SERVER_ERROR.body()).encode() + b"\n\n"


async def stream_response(
    chunks: AsyncIterator[ChatCompletionChunk], include_usage: bool
) -> StreamingResponse:
    """Wait for the first chunk before answering, so that a failure to start is an ordinary
    error response rather than a broken stream."""
    first = await anext(chunks, None)
    return StreamingResponse(
        _frames(first, chunks, include_usage),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache"},
    )


def frame(chunk: ChatCompletionChunk, include_usage: bool) -> bytes:
    # With include_usage every chunk carries `usage` (null until the last); otherwise none does.
    body = chunk.model_dump_json(exclude=None if include_usage else {"usage"})
    return b"data: " + body.encode() + b"\n\n"


async def _frames(
    first: ChatCompletionChunk | None, chunks: AsyncIterator[ChatCompletionChunk], include_usage: bool
) -> AsyncIterator[bytes]:
    async with aclosing(chunks):
        try:
            if first is not None:
                yield frame(first, include_usage)
            async for chunk in chunks:
                yield frame(chunk, include_usage)
        except Exception:
            # The status line is gone; OpenAI's SDK raises an error event as an APIError.
            log.exception("chat stream failed")
            yield ERROR
            return
    yield DONE
