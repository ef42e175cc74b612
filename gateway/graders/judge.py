"""The judge of score_model and label_model graders: any model the caller's project can chat
with, local or upstream, billed and rate limited as the caller's own chat completions."""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError

from gateway.chat import billing, completions, service
from gateway.chat.params import ChatCompletionParams
from gateway.errors import GatewayError
from gateway.projects import Caller
from gateway.providers.base import UpstreamError
from gateway.runtime import Runtime
from graders import JudgeError, JudgeReply, JudgeRequest

Debit = Callable[[int], Awaitable[None]]


class ChatJudge:
    def __init__(self, runtime: Runtime, caller: Caller, debit: Debit) -> None:
        self.runtime, self.caller, self.debit = runtime, caller, debit

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        body = _chat_body(request)
        try:
            on_usage = await billing.open_meter(self.runtime, self.caller, request.model, self.debit)
            route = await service.upstream_route(self.runtime, self.caller, request.model)
            if route is not None:
                reply = await self._upstream(route, body)
            else:
                reply = await self._local(body)
        except GatewayError as error:
            if error.status_code == 429:
                raise  # the project's budget or rate limit: the caller's answer, not a grade
            raise JudgeError(error.message) from error
        except (UpstreamError, ValidationError) as error:
            raise JudgeError(getattr(error, "message", None) or str(error)) from error
        await on_usage(reply.prompt_tokens, reply.completion_tokens)
        return reply

    async def _local(self, body: dict[str, Any]) -> JudgeReply:
        # The local engine does not constrain its output; the graders read plain text too.
        params = ChatCompletionParams.model_validate({**body, "response_format": None})
        generation = await service.prepare(self.runtime, self.caller, params)
        completion = await completions.complete(self.runtime.chat_engine, generation)
        message = completion.choices[0].message
        return JudgeReply(
            text=message.content or "",
            model=completion.model,
            prompt_tokens=completion.usage.prompt_tokens,
            completion_tokens=completion.usage.completion_tokens,
            refusal=getattr(message, "refusal", None),
        )

    async def _upstream(self, route: service.UpstreamRoute, body: dict[str, Any]) -> JudgeReply:
        reply = await route.provider.chat(body | {"model": route.model})
        content = b"".join([chunk async for chunk in reply.body])
        if reply.status_code != 200:
            raise JudgeError(f"the judge model's upstream answered {reply.status_code}")
        try:
            answer = json.loads(content)
            message = answer["choices"][0]["message"]
            usage = answer.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise JudgeError("the judge model's upstream sent an unreadable answer") from error
        return JudgeReply(
            text=message.get("content") or "",
            model=str(answer.get("model") or body["model"]),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            refusal=message.get("refusal"),
        )


def _chat_body(request: JudgeRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"model": request.model, "messages": request.messages}
    optional = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "seed": request.seed,
        "max_completion_tokens": request.max_tokens,
        "reasoning_effort": request.reasoning_effort,
        "response_format": request.response_format,
    }
    return body | {key: value for key, value in optional.items() if value is not None}
