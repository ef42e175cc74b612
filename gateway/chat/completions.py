"""Engine events in, OpenAI's objects out: one `chat.completion`, or its stream of chunks.
When the request offered tools, a choice that ends with well-formed calls finishes with
`tool_calls`."""

from collections.abc import AsyncIterator, Iterable
from contextlib import aclosing

from gateway import ids
from gateway.chat import tool_calls
from gateway.chat.schemas import (
    CalledFunction,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    Choice,
    ChunkChoice,
    ChunkDelta,
    ChunkToolCall,
    CompletionUsage,
    FinishReason,
    MessageToolCall,
)
from gateway.chat.service import Generation
from gateway.inference.engine import ChatEngine
from gateway.inference.generation import Finished, TextDelta


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
            _choice(
                generation,
                index,
                "".join(texts[index]),
                finished[index].reason if index in finished else "stop",
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

    splitters = (
        [tool_calls.CallSplitter() for _ in range(generation.sampling.n)] if generation.tools else None
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
                text = splitters[event.index].feed(event.text) if splitters else event.text
                if text:
                    yield chunk([ChunkChoice(index=event.index, delta=ChunkDelta(content=text))])
                continue
            finished.append(event)
            reason: FinishReason = event.reason
            if splitters:
                rest, calls = splitters[event.index].finish(stopped=event.reason == "stop")
                if rest:
                    yield chunk([ChunkChoice(index=event.index, delta=ChunkDelta(content=rest))])
                if calls:
                    delta = ChunkDelta(
                        tool_calls=[_chunk_call(number, call) for number, call in enumerate(calls)]
                    )
                    yield chunk([ChunkChoice(index=event.index, delta=delta)])
                    reason = "tool_calls"
            yield chunk([ChunkChoice(index=event.index, delta=ChunkDelta(), finish_reason=reason)])
    if generation.include_usage:
        yield chunk([], usage=_usage(generation, finished))


def _usage(generation: Generation, finished: Iterable[Finished]) -> CompletionUsage:
    """The prompt counts once, whatever `n`; completion tokens add up over the choices."""
    return CompletionUsage.of(len(generation.prompt), sum(event.completion_tokens for event in finished))


def _choice(generation: Generation, index: int, text: str, reason: FinishReason) -> Choice:
    parsed = tool_calls.parse(text) if generation.tools and reason == "stop" else None
    if parsed is None:
        return Choice(index=index, message=ChatCompletionMessage(content=text), finish_reason=reason)
    calls = [MessageToolCall(id=ids.new_tool_call_id(), function=call) for call in parsed.calls]
    message = ChatCompletionMessage(content=parsed.content, tool_calls=calls)
    return Choice(index=index, message=message, finish_reason="tool_calls")


def _chunk_call(number: int, call: CalledFunction) -> ChunkToolCall:
    return ChunkToolCall(index=number, id=ids.new_tool_call_id(), function=call)
