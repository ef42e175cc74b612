"""Chat usage handed on once known: from local chunks and from an upstream's events."""

from collections.abc import AsyncIterator

from gateway.chat.metering import metered_chunks, metered_events, reported_usage
from gateway.chat.schemas import ChatCompletionChunk, ChunkChoice, ChunkDelta, CompletionUsage

UPSTREAM_STREAM = (
    b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"}}],'
    b'"usage":null}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","choices":[],'
    b'"usage":{"prompt_tokens":7,"completion_tokens":5,"total_tokens":12}}\n\n'
    b"data: [DONE]\n\n"
)


class Usages(list[tuple[int, int]]):
    async def __call__(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.append((prompt_tokens, completion_tokens))


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def passed_on(stream: bytes, size: int, usages: Usages, show_usage: bool) -> bytes:
    return b"".join([piece async for piece in metered_events(pieces(stream, size), usages, show_usage)])


async def test_an_upstream_stream_passes_unchanged_and_hands_on_its_usage_once():
    for size in (1, 7, 64, len(UPSTREAM_STREAM)):
        usages = Usages()
        assert await passed_on(UPSTREAM_STREAM, size, usages, show_usage=True) == UPSTREAM_STREAM
        assert usages == [(7, 5)], size


async def test_the_usage_chunk_is_counted_but_not_shown_to_a_caller_that_did_not_ask_for_it():
    without_usage_chunk = UPSTREAM_STREAM.replace(UPSTREAM_STREAM.split(b"\n\n")[1] + b"\n\n", b"")
    for size in (1, 7, 64, len(UPSTREAM_STREAM)):
        usages = Usages()
        assert await passed_on(UPSTREAM_STREAM, size, usages, show_usage=False) == without_usage_chunk
        assert usages == [(7, 5)], size


async def test_usage_that_comes_with_choices_is_blanked_for_a_caller_that_did_not_ask_for_it():
    stream = (
        b'event: chunk\r\ndata: {"choices":[{"index":0,"delta":{"content":"Hi"}}],'
        b'"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}\r\n\r\ndata: [DONE]'
    )
    usages = Usages()
    passed = await passed_on(stream, 4, usages, show_usage=False)
    assert passed == (
        b'event: chunk\r\ndata: {"choices": [{"index": 0, "delta": {"content": "Hi"}}], "usage": null}\n\n'
        b"data: [DONE]"
    )
    assert usages == [(3, 1)]


async def test_an_upstream_stream_without_usage_hands_on_nothing():
    usages = Usages()
    body = b'data: {"choices":[{"index":0,"delta":{"content":"usage"}}]}\n\ndata: [DONE]\n\n'
    assert await passed_on(body, 5, usages, show_usage=False) == body
    assert usages == []


def test_the_usage_of_an_answer():
    answer = (
        b'{"object":"chat.completion","usage":{"prompt_tokens":20,"completion_tokens":11,"total_tokens":31}}'
    )
    assert reported_usage(answer) == (20, 11)
    assert reported_usage(b'{"object":"chat.completion","usage":{"total_tokens":31}}') is None
    assert reported_usage(b'{"object":"chat.completion"}') is None
    assert reported_usage(b"not json") is None
    assert reported_usage(b"[1, 2]") is None


def chunk(usage: CompletionUsage | None = None, content: str | None = None) -> ChatCompletionChunk:
    choices = [] if usage else [ChunkChoice(index=0, delta=ChunkDelta(content=content))]
    return ChatCompletionChunk(
        id="c", created=0, model="m", choices=choices, system_fingerprint="fp", usage=usage
    )


async def local_chunks() -> AsyncIterator[ChatCompletionChunk]:
    yield chunk(content="Hi")
    yield chunk(CompletionUsage.of(7, 5))


async def test_local_chunks_hand_on_their_usage_and_show_it_only_when_asked():
    for include_usage, expected in ((True, 2), (False, 1)):
        usages = Usages()
        passed = [item async for item in metered_chunks(local_chunks(), include_usage, usages)]
        assert len(passed) == expected and passed[0].choices[0].delta.content == "Hi"
        assert usages == [(7, 5)]
