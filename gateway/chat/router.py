"""/v1/chat/completions: a chat.completion object, or its chunks as server-sent events."""

from fastapi import APIRouter, Request, Response

from gateway.chat import completions, forwarding, service, sse
from gateway.chat.params import ChatCompletionParams
from gateway.chat.schemas import ChatCompletion
from gateway.deps import CallerDep, RuntimeDep

router = APIRouter(prefix="/v1/chat", tags=["chat"])

STREAM_RESPONSE = {200: {"content": {"text/event-stream": {}}, "description": "With `stream: true`."}}


@router.post("/completions", response_model=ChatCompletion, responses=STREAM_RESPONSE)
async def create(
    params: ChatCompletionParams, caller: CallerDep, runtime: RuntimeDep, request: Request
) -> ChatCompletion | Response:
    route = await service.upstream_route(runtime, caller, params.model)
    if route is not None:
        return await forwarding.forward(route.provider, await request.json(), route.model, params.model)
    generation = await service.prepare(runtime, caller, params)
    if params.stream:
        return await sse.stream_response(
            completions.chunks(runtime.chat_engine, generation), params.include_usage
        )
    return await completions.complete(runtime.chat_engine, generation)
