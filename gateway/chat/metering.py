"""An answer's usage, handed on once it is known (to bill it and to pay the caller's tokens per
minute): from the `chat.completion`, from the usage chunk of a local stream, or from the usage
that an upstream reports (in its answer, or in the last event of a stream, which ftgate asks for
whether or not the caller did)."""

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

from gateway.chat.schemas import ChatCompletionChunk

# Where one server-sent event ends.
EVENT_END = re.compile(rb"\r?\n\r?\n")
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
    answer = _parsed(body)
    return None if answer is None else _usage(answer)


def _parsed(body: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _usage(answer: dict[str, Any]) -> tuple[int, int] | None:
    usage = answer.get("usage")
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (prompt, completion) if isinstance(prompt, int) and isinstance(completion, int) else None


async def metered_events(
    body: AsyncIterator[bytes], on_usage: UsageHook, show_usage: bool
) -> AsyncIterator[bytes]:
    """An upstream's event stream, passed on event by event, its usage counted on the way. Unless
    `show_usage` (the caller asked for it), the usage chunk is left out, as OpenAI leaves it out."""
    pending = b""
    async for piece in body:
        *events, pending = EVENT_END.split(pending + piece)
        passed = [shown for event in events if (shown := await _metered(event, on_usage, show_usage))]
        if passed:
            yield b"".join(event + b"\n\n" for event in passed)
    if pending and (shown := await _metered(pending, on_usage, show_usage)):
        yield shown


async def _metered(event: bytes, on_usage: UsageHook, show_usage: bool) -> bytes | None:
    """The event as the caller gets it (None: not at all), its usage handed on."""
    if b'"usage"' not in event:
        return event
    lines = event.split(b"\n")
    at = next((index for index, line in enumerate(lines) if line.startswith(b"data:")), None)
    chunk = None if at is None else _parsed(lines[at].removeprefix(b"data:"))
    if chunk is None or (usage := _usage(chunk)) is None:
        return event
    await on_usage(*usage)
    if show_usage:
        return event
    if not chunk.get("choices"):
        return None
    lines[at] = b"data: " + json.dumps(chunk | {"usage": None}).encode()
    return b"\n".join(lines)
