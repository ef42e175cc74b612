"""/v1/chat/completions: a chat.completion object, or its chunks as server-sent events."""

from dataclasses import replace

from fastapi import APIRouter, Request, Response

from gateway.chat import billing, completions, forwarding, service, sse
from gateway.chat.metering import metered_chunks
from gateway.chat.params import ChatCompletionParams
from gateway.chat.schemas import ChatCompletion
from gateway.deps import CallerDep, RuntimeDep
from gateway.openapi import errors
from gateway.ratelimit.admission import admit_chat

router = APIRouter(prefix="/v1/chat", tags=["chat"])

STREAM_RESPONSE = {200: {"content": {"text/event-stream": {}}, "description": "With `stream: true`."}}
RESPONSES = STREAM_RESPONSE | errors(404, 502)


@router.post("/completions", response_model=ChatCompletion, responses=RESPONSES)
async def create(
    params: ChatCompletionParams, caller: CallerDep, runtime: RuntimeDep, request: Request
) -> ChatCompletion | Response:
    debit = await admit_chat(request, runtime.rate_limiter, caller)
    on_usage = await billing.open_meter(runtime, caller, params.model, debit)
    route = await service.upstream_route(runtime, caller, params.model)
    if route is not None:
        return await forwarding.forward(
            route.provider, await request.json(), route.model, params.model, on_usage
        )
    generation = await service.prepare(runtime, caller, params)
    if params.stream:
        counted = completions.chunks(runtime.chat_engine, replace(generation, include_usage=True))
        return await sse.stream_response(
            metered_chunks(counted, params.include_usage, on_usage), params.include_usage
        )
    completion = await completions.complete(runtime.chat_engine, generation)
    await on_usage(completion.usage.prompt_tokens, completion.usage.completion_tokens)
    return completion
