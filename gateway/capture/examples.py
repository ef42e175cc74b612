"""What one forwarded chat becomes: a training example (`{"messages": [..., answer]}`) or a
held-out eval item (`{"item": {"messages": [...], "answer": "..."}}`), and the rules that decide
whether and where it is recorded. Pure functions of the request and the answer."""

import hashlib
import json
from typing import Any

# An answer message keeps what a training example's assistant message may hold.
ANSWER_KEYS = ("content", "tool_calls", "function_call")
TOOL_CALL_KEYS = ("id", "type", "function")


def drops(body: dict[str, Any], fields: list[str]) -> bool:
    """Whether the request carries one of `fields`: a top-level key (`user`) or a dotted path
    into nested objects (`metadata.customer`)."""
    return any(_has_path(body, field.split(".")) for field in fields)


def _has_path(value: Any, path: list[str]) -> bool:
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    return True


def held_out(messages: list[Any], fraction: float) -> bool:
    """Deterministic: the prompt's hash, read as a number in [0, 1), below `fraction`. The same
    prompt always lands on the same side, so no eval prompt is also trained on."""
    if fraction <= 0:
        return False
    digest = hashlib.sha256(canonical(messages).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def answer_message(message: dict[str, Any]) -> dict[str, Any] | None:
    """The assistant message of a training example from an answer's message (None: nothing to
    learn from, neither text nor a tool call)."""
    answer: dict[str, Any] = {"role": "assistant"}
    for key in ANSWER_KEYS:
        if message.get(key) is not None:
            answer[key] = message[key]
    if "tool_calls" in answer:
        answer["tool_calls"] = [
            {key: call[key] for key in TOOL_CALL_KEYS if key in call} for call in answer["tool_calls"]
        ]
    if set(answer) <= {"role", "content"} and not answer.get("content"):
        return None
    return answer


def prompt_messages(body: dict[str, Any]) -> list[Any]:
    """The request's messages as a training example has them: `developer` is the system
    prompt under its newer name, which training files do not know."""
    return [
        message | {"role": "system"}
        if isinstance(message, dict) and message.get("role") == "developer"
        else message
        for message in body.get("messages") or []
    ]


def training_line(body: dict[str, Any], answer: dict[str, Any]) -> bytes:
    example: dict[str, Any] = {"messages": [*prompt_messages(body), answer]}
    if body.get("tools"):
        example["tools"] = body["tools"]
        if body.get("parallel_tool_calls") is not None:
            example["parallel_tool_calls"] = body["parallel_tool_calls"]
    return _line(example)


def eval_line(body: dict[str, Any], answer: dict[str, Any]) -> bytes:
    """An item for the evals API (a purpose `evals` file): the prompt and the answer given."""
    item: dict[str, Any] = {"messages": prompt_messages(body), "answer": answer.get("content") or ""}
    if "tool_calls" in answer:
        item["tool_calls"] = answer["tool_calls"]
    return _line({"item": item})


def _line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode() + b"\n"
