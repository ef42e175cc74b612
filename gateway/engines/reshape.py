"""A serving engine's answer as ftgate's own: the model named as the caller named it (not the
adapter's name at the server), ftgate's fingerprint for it, and none of the engine's own fields
(vLLM's `stop_reason`, `prompt_logprobs`…, left empty unless asked for in ways ftgate never
forwards)."""

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

from gateway.chat.metering import EVENT_END
from gateway.providers.base import ChatReply

ENGINE_FIELDS = frozenset({"prompt_logprobs", "prompt_token_ids", "kv_transfer_params"})
CHOICE_FIELDS = frozenset({"stop_reason", "token_ids", "matched_stop", "hidden_states"})
# The message fields that OpenAI writes as null; an engine's other nulls (`annotations`,
# `function_call`, `reasoning_content`…) are left out, as OpenAI leaves out what it does not send.
NULLABLE_MESSAGE_FIELDS = frozenset({"content", "refusal"})


def reshaped(reply: ChatReply, model: str, fingerprint: str) -> ChatReply:
    if reply.content_type.startswith("text/event-stream"):
        body = _events(reply.body, model, fingerprint)
    else:
        body = _whole(reply.body, model, fingerprint)
    return dataclasses.replace(reply, body=body)


def reshape(answer: dict[str, Any], model: str, fingerprint: str) -> dict[str, Any]:
    """A chat completion or chunk, reshaped."""
    shaped = {
        key: value
        for key, value in answer.items()
        if key not in ENGINE_FIELDS and not (value is None and key in ("service_tier", "usage"))
    }
    shaped |= {"model": model, "system_fingerprint": fingerprint}
    for choice in shaped.get("choices") or []:
        for key in CHOICE_FIELDS:
            choice.pop(key, None)
        for part in (choice.get("message"), choice.get("delta")):
            if isinstance(part, dict):
                for key in [key for key, value in part.items() if value is None]:
                    if key not in NULLABLE_MESSAGE_FIELDS:
                        del part[key]
        if isinstance(choice.get("message"), dict):
            choice["message"] = dict.fromkeys(NULLABLE_MESSAGE_FIELDS) | choice["message"]
    if isinstance(usage := shaped.get("usage"), dict):
        shaped["usage"] = {key: value for key, value in usage.items() if value is not None}
    return shaped


async def _whole(body: AsyncIterator[bytes], model: str, fingerprint: str) -> AsyncIterator[bytes]:
    content = b"".join([piece async for piece in body])
    yield _reshaped_json(content, model, fingerprint) or content


async def _events(body: AsyncIterator[bytes], model: str, fingerprint: str) -> AsyncIterator[bytes]:
    pending = b""
    async for piece in body:
        *events, pending = EVENT_END.split(pending + piece)
        if events:
            yield b"".join(_event(event, model, fingerprint) + b"\n\n" for event in events)
    if pending:
        yield _event(pending, model, fingerprint)


def _event(event: bytes, model: str, fingerprint: str) -> bytes:
    lines = event.split(b"\n")
    for index, line in enumerate(lines):
        if line.startswith(b"data:") and (shaped := _reshaped_json(line[5:], model, fingerprint)):
            lines[index] = b"data: " + shaped
    return b"\n".join(lines)


def _reshaped_json(content: bytes, model: str, fingerprint: str) -> bytes | None:
    try:
        answer = json.loads(content)
    except ValueError:
        return None  # `[DONE]`, or not JSON: passed on as it came
    if not isinstance(answer, dict) or "choices" not in answer:
        return None
    return json.dumps(reshape(answer, model, fingerprint)).encode()
