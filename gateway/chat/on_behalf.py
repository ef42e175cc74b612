"""Chat completions ftgate asks for on a project's behalf (judge graders, eval samples): any
model the project can chat with, local or upstream, billed, budgeted and rate limited as the
project's own chats."""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from gateway.chat import billing, completions, service
from gateway.chat.params import ChatCompletionParams
from gateway.errors import GatewayError
from gateway.projects import Caller
from gateway.providers.base import UpstreamError
from gateway.ratelimit.admission import ChatTokensDebit
from gateway.runtime import Runtime

# Where a body does not say, an upstream is asked for at most this many tokens (OpenAI's eval
# sampling default); a local model is asked for what its context leaves.
UPSTREAM_DEFAULT_MAX_TOKENS = 2048

Admit = Callable[[], Awaitable[ChatTokensDebit]]


@dataclass(frozen=True)
class ChatReply:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    max_tokens: int
    refusal: str | None = None


class ChatFailed(Exception):
    """The model could not answer (unknown model, bad prompt, upstream failure): the sample's
    error, not the caller's. A spent budget or rate limit is raised as the GatewayError it is."""

    def __init__(self, message: str, code: str = "sampling_error") -> None:
        super().__init__(message)
        self.message, self.code = message, code


class ProjectChat:
    def __init__(self, runtime: Runtime, caller: Caller, admit: Admit) -> None:
        self.runtime, self.caller, self.admit = runtime, caller, admit

    async def complete(self, body: dict[str, Any]) -> ChatReply:
        try:
            debit = await self.admit()
            body = body | {"model": await service.served_model(self.runtime, self.caller, body["model"])}
            on_usage = await billing.open_meter(self.runtime, self.caller, body["model"], debit)
            route = await service.forwarded_route(self.runtime, self.caller, body["model"])
            reply = await (self._upstream(route, body) if route is not None else self._local(body))
        except GatewayError as error:
            if error.status_code == 429:
                raise
            raise ChatFailed(error.message, error.code or "invalid_request") from error
        except (UpstreamError, ValidationError) as error:
            raise ChatFailed(getattr(error, "message", None) or str(error)) from error
        await on_usage(reply.prompt_tokens, reply.completion_tokens)
        return reply

    async def _local(self, body: dict[str, Any]) -> ChatReply:
        # The local engine does not constrain its output; graders read plain text too.
        params = ChatCompletionParams.model_validate({**body, "response_format": None})
        generation = await service.prepare(self.runtime, self.caller, params)
        completion = await completions.complete(self.runtime.chat_engine, generation)
        choice = completion.choices[0]
        return ChatReply(
            text=choice.message.content or "",
            model=completion.model,
            prompt_tokens=completion.usage.prompt_tokens,
            completion_tokens=completion.usage.completion_tokens,
            finish_reason=choice.finish_reason,
            max_tokens=generation.sampling.max_new_tokens,
            refusal=getattr(choice.message, "refusal", None),
        )

    async def _upstream(self, route: service.UpstreamRoute, body: dict[str, Any]) -> ChatReply:
        max_tokens = body.get("max_completion_tokens") or UPSTREAM_DEFAULT_MAX_TOKENS
        reply = await route.provider.chat(body | {"model": route.model, "max_completion_tokens": max_tokens})
        content = b"".join([chunk async for chunk in reply.body])
        if reply.status_code != 200:
            raise ChatFailed(f"the model's upstream answered {reply.status_code}", "upstream_error")
        try:
            answer = json.loads(content)
            choice = answer["choices"][0]
            message = choice["message"]
            usage = answer.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise ChatFailed("the model's upstream sent an unreadable answer", "upstream_error") from error
        return ChatReply(
            text=message.get("content") or "",
            model=str(answer.get("model") or body["model"]),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            finish_reason=str(choice.get("finish_reason") or "stop"),
            max_tokens=max_tokens,
            refusal=message.get("refusal"),
        )
