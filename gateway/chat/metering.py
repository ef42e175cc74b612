"""An answer's usage, handed on once it is known (to bill it and to pay the caller's tokens per
minute): from the `chat.completion`, from the usage chunk of a local stream, or from the usage
that an upstream reports (in its answer, or in the last event of a stream when the caller asked
for `stream_options.include_usage`)."""

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing

from gateway.chat.schemas import ChatCompletionChunk

# Called with an answer's prompt and completion tokens.
UsageHook = Callable[[int, int], Awaitable[None]]


async def metered_chunks(
    chunks: AsyncIterator[ChatCompletionChunk], include_usage: bool, on_usage: UsageHook
) -> AsyncIterator[ChatCompletionChunk]:
    """The chunks of a generation that always ends with its usage chunk, which goes on to the
    caller only when it asked for usage."""
    async with aclosing(chunks):
        async for chunk in chunks:
            if chunk.usage is not None:
                await on_usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                if not include_usage:
                    continue
            yield chunk


def reported_usage(body: bytes) -> tuple[int, int] | None:
    """`usage`'s prompt and completion tokens in a JSON chat completion or chunk, when it has them."""
    try:
        usage = json.loads(body).get("usage")
    except (ValueError, AttributeError):
        return None
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (prompt, completion) if isinstance(prompt, int) and isinstance(completion, int) else None


async def metered_events(body: AsyncIterator[bytes], on_usage: UsageHook) -> AsyncIterator[bytes]:
    """An upstream's event stream, passed on byte for byte, its usage counted on the way."""
    pending = b""
    async for piece in body:
        *lines, pending = (pending + piece).split(b"\n")
        for line in lines:
            if line.startswith(b"data:") and b'"usage"' in line:
                usage = reported_usage(line.removeprefix(b"data:"))
                if usage is not None:
                    await on_usage(*usage)
        yield piece
