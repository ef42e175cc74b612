"""Chat answers as vLLM and SGLang shape them: each choice says "<model>: <last user message>",
a word a token, cut at `max_tokens`; usage counts the words of every message."""

import time
from collections.abc import AsyncIterator
from typing import Any, Protocol

from tests.support.fake_upstream.api import event_stream, last_user_text
from tests.support.fake_upstream.lifecycle import random_id


class Shapes(Protocol):
    """A server's own fields around OpenAI's."""

    def choice(self, index: int, text: str, reason: str) -> dict[str, Any]: ...

    def delta(self, index: int, delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]: ...

    def usage(self, prompt: int, completion: int) -> dict[str, Any]: ...

    def extra(self) -> dict[str, Any]: ...


def completion(body: dict[str, Any], shapes: Shapes) -> dict[str, Any]:
    prompt, answer, limit = _words(body)
    choices = [
        shapes.choice(index, " ".join(answer[:limit]), "length" if limit < len(answer) else "stop")
        for index in range(body.get("n") or 1)
    ]
    usage = shapes.usage(prompt, min(limit, len(answer)) * len(choices))
    return _head(body, "chat.completion") | {"choices": choices, "usage": usage} | shapes.extra()


def chunks(body: dict[str, Any], shapes: Shapes) -> AsyncIterator[bytes]:
    prompt, answer, limit = _words(body)
    head = _head(body, "chat.completion.chunk")
    n = body.get("n") or 1
    events = []
    for index in range(n):
        events.append(head | {"choices": [shapes.delta(index, {"role": "assistant", "content": ""})]})
        for number, word in enumerate(answer[:limit]):
            text = word if number == 0 else " " + word
            events.append(head | {"choices": [shapes.delta(index, {"content": text})]})
        reason = "length" if limit < len(answer) else "stop"
        events.append(head | {"choices": [shapes.delta(index, {}, reason)]})
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append(head | {"choices": [], "usage": shapes.usage(prompt, min(limit, len(answer)) * n)})
    return event_stream(events)


def _words(body: dict[str, Any]) -> tuple[int, list[str], int]:
    messages = body.get("messages") or []
    prompt = sum(len(str(message.get("content") or "").split()) for message in messages)
    answer = f"{body['model']}: {last_user_text(messages)}".split()
    return prompt, answer, body.get("max_completion_tokens") or body.get("max_tokens") or len(answer)


def _head(body: dict[str, Any], kind: str) -> dict[str, Any]:
    return {"id": random_id("chatcmpl-"), "object": kind, "created": int(time.time()), "model": body["model"]}
