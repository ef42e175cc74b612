"""OpenAI's rules for one chat message, and the texts of it that are counted.

`read_message` raises `InvalidExample` or appends the message's texts: those of a trained
assistant turn (weight 1 or none: content, tool-call names and arguments) to `trained`, all
others (and every `name`) to `context`. It returns the message's framing tokens.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from gateway.validation.problems import (
    InvalidExample,
    invalid_message_field,
    invalid_tool_call,
    message_label,
    where,
)
from gateway.validation.tokens import TOKENS_PER_NAME

ROLES = ("system", "user", "assistant", "tool", "function")
ALLOWED_MESSAGE_KEYS: dict[str, frozenset[str]] = {
    "system": frozenset({"role", "content", "name"}),
    "user": frozenset({"role", "content", "name"}),
    "assistant": frozenset({"role", "content", "name", "weight", "tool_calls", "function_call", "refusal"}),
    "tool": frozenset({"role", "content", "tool_call_id"}),
    "function": frozenset({"role", "content", "name"}),
}
TOOL_CALL_KEYS = frozenset({"id", "type", "function"})
FUNCTION_CALL_KEYS = frozenset({"name", "arguments"})
IMAGE_URL_KEYS = frozenset({"url", "detail"})
IMAGE_DETAILS = ("auto", "low", "high")


def read_message(
    message: object,
    line: int,
    index: int,
    key: str,
    framing: Mapping[str, int],
    context: list[str],
    trained: list[str],
) -> int:
    if type(message) is not dict:
        raise InvalidExample(
            "invalid_message", f"{where(line, index, key)}: Input should be a valid dictionary"
        )
    role = message.get("role")
    if role is None:
        raise InvalidExample(
            "missing_role",
            f"Example {line}, {message_label(index, key)} Discriminator 'role' is missing in value",
        )
    allowed = ALLOWED_MESSAGE_KEYS.get(role) if type(role) is str else None
    if allowed is None:
        expected = ", ".join(f"'{name}'" for name in ROLES)
        raise InvalidExample(
            "unrecognized_role",
            f"{where(line, index, key)}: Input tag {role!r} found using 'role' does not match "
            f"any of the expected tags: {expected}",
        )
    if not message.keys() <= allowed:
        _reject_key(message, allowed, line, index, key)
    texts = context
    if role == "assistant":
        weight = message.get("weight", 1)
        if type(weight) is not int or (weight != 0 and weight != 1):
            raise invalid_message_field(
                "invalid_weight", line, index, key, "weight", "Input should be 0 or 1"
            )
        if weight == 1:
            texts = trained
        _read_calls(message, line, index, key, texts)
    content = message.get("content")
    if type(content) is str:
        texts.append(content)
    elif content is None:
        _check_absent_content(message, role, line, index, key)
    elif role == "user" and type(content) is list:
        _read_content_parts(content, line, index, key, texts)
    else:
        raise invalid_message_field(
            "invalid_content", line, index, key, "content", "Input should be a valid string"
        )
    tokens = framing[role]
    if "name" in message or role == "function":
        context.append(_required_string(message, "name", line, index, key))
        tokens += TOKENS_PER_NAME
    if role == "tool":
        _required_string(message, "tool_call_id", line, index, key)
    elif role == "assistant" and message.get("refusal") is not None:
        _required_string(message, "refusal", line, index, key)
    return tokens


def _read_calls(message: dict, line: int, index: int, key: str, texts: list[str]) -> None:
    tool_calls = message.get("tool_calls")
    if tool_calls is not None:
        if type(tool_calls) is not list or not tool_calls:
            raise invalid_tool_call(line, index, key, "tool_calls should be a non-empty list")
        for position, call in enumerate(tool_calls, 1):
            if (
                type(call) is not dict
                or not call.keys() <= TOOL_CALL_KEYS
                or type(call.get("id")) is not str
                or call.get("type") != "function"
            ):
                raise invalid_tool_call(
                    line,
                    index,
                    key,
                    f'tool call {position} should be {{"id": str, "type": "function", "function": {{...}}}}',
                )
            label = f"tool call {position}"
            _read_function_call(call.get("function"), line, index, key, label, texts)
    function_call = message.get("function_call")
    if function_call is not None:
        _read_function_call(function_call, line, index, key, "function_call", texts)


def _read_function_call(call: object, line: int, index: int, key: str, label: str, texts: list[str]) -> None:
    if (
        type(call) is not dict
        or not call.keys() <= FUNCTION_CALL_KEYS
        or type(call.get("name")) is not str
        or type(call.get("arguments")) is not str
    ):
        raise invalid_tool_call(
            line, index, key, f'{label} should have a string "name" and string "arguments"'
        )
    try:
        msgspec.json.decode(call["arguments"])
    except (ValueError, RecursionError):
        raise invalid_tool_call(line, index, key, f"{label} arguments are not valid JSON") from None
    texts.append(call["name"])
    texts.append(call["arguments"])


def _read_content_parts(parts: list, line: int, index: int, key: str, texts: list[str]) -> None:
    if not parts:
        raise invalid_message_field(
            "invalid_content", line, index, key, "content", "Input should be a non-empty list"
        )
    for position, part in enumerate(parts, 1):
        kind = part.get("type") if type(part) is dict else None
        if kind == "text" and part.keys() == {"type", "text"} and type(part["text"]) is str:
            texts.append(part["text"])
        elif not (
            kind == "image_url" and part.keys() == {"type", "image_url"} and _is_image_url(part["image_url"])
        ):
            raise invalid_message_field(
                "invalid_content",
                line,
                index,
                key,
                "content",
                f'part {position} should be {{"type": "text", "text": str}} '
                'or {"type": "image_url", "image_url": {"url": str}}',
            )


def _is_image_url(image_url: object) -> bool:
    return (
        type(image_url) is dict
        and image_url.keys() <= IMAGE_URL_KEYS
        and type(image_url.get("url")) is str
        and image_url.get("detail", "auto") in IMAGE_DETAILS
    )


def _check_absent_content(message: dict, role: str, line: int, index: int, key: str) -> None:
    """Content may be absent or null only on an assistant turn that calls a tool or function."""
    if role == "assistant" and (
        message.get("tool_calls") is not None or message.get("function_call") is not None
    ):
        return
    problem = "Input should be a valid string" if "content" in message else "Field required"
    raise invalid_message_field("missing_content", line, index, key, "content", problem)


def _required_string(message: dict, field: str, line: int, index: int, key: str) -> str:
    if field not in message:
        raise invalid_message_field("missing_key", line, index, key, field, "Field required")
    value = message[field]
    if type(value) is not str:
        raise invalid_message_field("invalid_type", line, index, key, field, "Input should be a valid string")
    return value


def _reject_key(message: dict, allowed: frozenset[str], line: int, index: int, key: str) -> None:
    extra = next(name for name in message if name not in allowed)
    if extra == "weight":
        raise invalid_message_field(
            "invalid_weight", line, index, key, "weight", "only assistant messages carry a weight"
        )
    raise invalid_message_field("unrecognized_key", line, index, key, extra, "Extra inputs are not permitted")
