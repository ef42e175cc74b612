"""/v1/chat/completions: a chat.completion object, or its chunks as server-sent events."""

from collections.abc import Awaitable
from dataclasses import replace
from typing import TypeVar

import anyio
from fastapi import APIRouter, Request, Response
from starlette.requests import ClientDisconnect

from gateway.admission import ProjectRoute, body_cap
from gateway.capture import recorder
from gateway.chat import billing, completions, forwarding, service, sse
from gateway.chat.metering import metered_chunks
from gateway.chat.params import ChatCompletionParams
from gateway.chat.schemas import ChatCompletion
from gateway.deps import CallerDep, RuntimeDep
from gateway.openapi import errors
from gateway.ratelimit.admission import admit_chat

router = APIRouter(prefix="/v1/chat", tags=["chat"], route_class=ProjectRoute)

T = TypeVar("T")
STREAM_RESPONSE = {200: {"content": {"text/event-stream": {}}, "description": "With `stream: true`."}}
RESPONSES = STREAM_RESPONSE | errors(404, 502, 503)


@router.post("/completions", response_model=ChatCompletion, responses=RESPONSES)
@body_cap(lambda settings: settings.max_chat_body_bytes)
async def create(
    params: ChatCompletionParams, caller: CallerDep, runtime: RuntimeDep, request: Request
) -> ChatCompletion | Response:
    debit = await admit_chat(request, runtime.rate_limiter, caller)
    # From here on the chat is one with the model that serves the name asked for (an alias's
    # replacement): routed, billed and answered as if the caller had named that model.
    params = params.model_copy(update={"model": await service.served_model(runtime, caller, params.model)})
    on_usage = await billing.open_meter(runtime, caller, params.model, debit)
    route = await service.forwarded_route(runtime, caller, params.model)
    if route is not None:
        body = await request.json()
        on_answer = recorder.hook(runtime, caller.project_id, params.model, body)
        return await forwarding.forward(route.provider, body, route.model, params.model, on_usage, on_answer)
    generation = await service.prepare(runtime, caller, params)
    if params.stream:
        counted = completions.chunks(runtime.chat_engine, replace(generation, include_usage=True))
        return await sse.stream_response(
            metered_chunks(counted, params.include_usage, on_usage), params.include_usage
        )
    completion = await _unless_client_leaves(request, completions.complete(runtime.chat_engine, generation))
    await on_usage(completion.usage.prompt_tokens, completion.usage.completion_tokens)
    return completion


async def _unless_client_leaves(request: Request, work: Awaitable[T]) -> T:
    """`work`, cancelled if the client goes away first: nobody waits for the answer, and the
    model is free for the next chat at once."""
    gone = False
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            nonlocal gone
            while (await request.receive())["type"] != "http.disconnect":
                pass
            gone = True
            group.cancel_scope.cancel()

        group.start_soon(watch)
        result = await work
        group.cancel_scope.cancel()
    if gone:
        raise ClientDisconnect()
    return result
