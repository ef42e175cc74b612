"""Engine events in, OpenAI's objects out: one `chat.completion`, or its stream of chunks."""

from collections.abc import AsyncIterator, Iterable
from contextlib import aclosing

from gateway.chat.engine import ChatEngine, Finished, TextDelta
from gateway.chat.schemas import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    Choice,
    ChunkChoice,
    ChunkDelta,
    CompletionUsage,
)
from gateway.chat.service import Generation


async def complete(engine: ChatEngine, generation: Generation) -> ChatCompletion:
    n = generation.sampling.n
    texts: list[list[str]] = [[] for _ in range(n)]
    finished: dict[int, Finished] = {}
    async with aclosing(engine.stream(generation.target, generation.prompt, generation.sampling)) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                texts[event.index].append(event.text)
            else:
                finished[event.index] = event
    return ChatCompletion(
        id=generation.id,
        created=generation.created,
        model=generation.model,
        system_fingerprint=generation.system_fingerprint,
        choices=[
            Choice(
                index=index,
                message=ChatCompletionMessage(content="".join(texts[index])),
                finish_reason=finished[index].reason if index in finished else "stop",
            )
            for index in range(n)
        ],
        usage=_usage(generation, finished.values()),
    )


async def chunks(engine: ChatEngine, generation: Generation) -> AsyncIterator[ChatCompletionChunk]:
    """The stream: per choice a role chunk, content deltas and a finishing chunk, then the
    usage chunk (empty choices) when asked for. Nothing is sent before the first token, so a
    model that fails to load still gets an ordinary error response."""

    def chunk(choices: list[ChunkChoice], usage: CompletionUsage | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=generation.id,
            created=generation.created,
            model=generation.model,
            system_fingerprint=generation.system_fingerprint,
            choices=choices,
            usage=usage,
        )

    finished: list[Finished] = []
    started = False
    async with aclosing(engine.stream(generation.target, generation.prompt, generation.sampling)) as events:
        async for event in events:
            if not started:
                started = True
                for index in range(generation.sampling.n):
                    yield chunk([ChunkChoice(index=index, delta=ChunkDelta(role="assistant", content=""))])
            if isinstance(event, TextDelta):
                yield chunk([ChunkChoice(index=event.index, delta=ChunkDelta(content=event.text))])
            else:
                finished.append(event)
                yield chunk([ChunkChoice(index=event.index, delta=ChunkDelta(), finish_reason=event.reason)])
    if generation.include_usage:
        yield chunk([], usage=_usage(generation, finished))


def _usage(generation: Generation, finished: Iterable[Finished]) -> CompletionUsage:
    """The prompt counts once, whatever `n`; completion tokens add up over the choices."""
    return CompletionUsage.of(len(generation.prompt), sum(event.completion_tokens for event in finished))
