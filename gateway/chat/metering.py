"""Chat tokens paid to the caller's tokens-per-minute bucket once an answer's usage is known:
from the `chat.completion`, from the usage chunk of a local stream, or from the usage that an
upstream reports (in its answer, or in the last event of a stream when the caller asked for
`stream_options.include_usage`)."""

import json
from collections.abc import AsyncIterator
from contextlib import aclosing

from gateway.chat.schemas import ChatCompletionChunk
from gateway.ratelimit.admission import ChatTokensDebit


async def metered_chunks(
    chunks: AsyncIterator[ChatCompletionChunk], include_usage: bool, debit: ChatTokensDebit
) -> AsyncIterator[ChatCompletionChunk]:
    """The chunks of a generation that always ends with its usage chunk, which goes on to the
    caller only when it asked for usage."""
    async with aclosing(chunks):
        async for chunk in chunks:
            if chunk.usage is not None:
                await debit(chunk.usage.total_tokens)
                if not include_usage:
                    continue
            yield chunk


def reported_total_tokens(body: bytes) -> int | None:
    """`usage.total_tokens` of a JSON chat completion or chunk, when it has one."""
    try:
        usage = json.loads(body).get("usage")
    except (ValueError, AttributeError):
        return None
    total = usage.get("total_tokens") if isinstance(usage, dict) else None
    return total if isinstance(total, int) else None


async def metered_events(body: AsyncIterator[bytes], debit: ChatTokensDebit) -> AsyncIterator[bytes]:
    """An upstream's event stream, passed on byte for byte, its usage counted on the way."""
    pending = b""
    async for piece in body:
        *lines, pending = (pending + piece).split(b"\n")
        for line in lines:
            if line.startswith(b"data:") and b'"usage"' in line:
                total = reported_total_tokens(line.removeprefix(b"data:"))
                if total is not None:
                    await debit(total)
        yield piece
