"""OpenAI's structural rules for one decoded training example, and the texts it is billed for.

`ExampleReader.read` either returns an `Example` (its format, the texts to count split into
context and trained-assistant texts, and the fixed framing tokens) or raises `InvalidExample`
with a stable code and OpenAI's wording. Examples are numbered by their line; messages from 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from gateway.validation.report import ExampleFormat
from gateway.validation.tokens import REPLY_PRIMING_TOKENS, TOKENS_PER_NAME

ROLES = ("system", "user", "assistant", "tool", "function")

ALLOWED_MESSAGE_KEYS: dict[str, frozenset[str]] = {
    "system": frozenset({"role", "content", "name"}),
    "user": frozenset({"role", "content", "name"}),
    "assistant": frozenset(
        {"role", "content", "name", "weight", "tool_calls", "function_call", "refusal"}
    ),
    "tool": frozenset({"role", "content", "tool_call_id"}),
    "function": frozenset({"role", "content", "name"}),
}
CHAT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})
PREFERENCE_KEYS = frozenset({"input", "preferred_output", "non_preferred_output"})
PREFERENCE_INPUT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls"})
PROMPT_COMPLETION_KEYS = frozenset({"prompt", "completion"})
TOOL_KEYS = frozenset({"type", "function"})
FUNCTION_DEFINITION_KEYS = frozenset({"name", "description", "parameters", "strict"})
TOOL_CALL_KEYS = frozenset({"id", "type", "function"})
FUNCTION_CALL_KEYS = frozenset({"name", "arguments"})
IMAGE_URL_KEYS = frozenset({"url", "detail"})
IMAGE_DETAILS = ("auto", "low", "high")
MAX_FUNCTIONS = 128

SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|endofprompt|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|im_sep|>",
)


class InvalidExample(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class Example:
    format: ExampleFormat
    context_texts: list[str]
    trained_texts: list[str]
    framing_tokens: int
    lacks_system_message: bool
    lacks_user_message: bool


def detect_format(example: dict) -> ExampleFormat:
    """The format family an object claims by its keys; chat when it claims none."""
    if "messages" in example:
        return "chat"
    if "input" in example or "preferred_output" in example or "non_preferred_output" in example:
        return "preference"
    if "prompt" in example or "completion" in example:
        return "prompt_completion"
    return "chat"


class ExampleReader:
    """Checks decoded examples; `framing` gives each role's per-message token cost."""

    def __init__(self, framing: Mapping[str, int]) -> None:
        self._framing = framing

    def read(self, example: dict, example_format: ExampleFormat, line: int) -> Example:
        if example_format == "chat":
            return self._read_chat(example, line)
        if example_format == "preference":
            return self._read_preference(example, line)
        return _read_prompt_completion(example, line)

    def _read_chat(self, example: dict, line: int) -> Example:
        if "messages" not in example:
            raise InvalidExample("missing_messages", f"Example {line} is missing key 'messages'.")
        _reject_extra_keys(example, CHAT_KEYS, f"Example {line}")
        context: list[str] = []
        trained: list[str] = []
        _read_tool_definitions(example, line, context, functions_allowed=True)
        framing, roles = self._read_messages(example["messages"], line, "messages", context, trained)
        if "assistant" not in roles:
            raise InvalidExample(
                "missing_assistant_message", f"Example {line} is missing an assistant message."
            )
        _reject_special_tokens(line, context, trained)
        return Example(
            "chat", context, trained, framing + REPLY_PRIMING_TOKENS,
            "system" not in roles, "user" not in roles,
        )

    def _read_preference(self, example: dict, line: int) -> Example:
        for key in ("input", "preferred_output", "non_preferred_output"):
            if key not in example:
                raise InvalidExample("missing_key", f"Example {line} is missing key '{key}'.")
        _reject_extra_keys(example, PREFERENCE_KEYS, f"Example {line}")
        prompt = example["input"]
        if type(prompt) is not dict:
            raise _invalid_type(line, "input", "a valid dictionary")
        if "messages" not in prompt:
            raise InvalidExample(
                "missing_messages", f"Example {line} is missing key 'input.messages'."
            )
        _reject_extra_keys(prompt, PREFERENCE_INPUT_KEYS, f"Example {line} input")
        context: list[str] = []
        trained: list[str] = []
        rejected: list[str] = []
        _read_tool_definitions(prompt, line, context, functions_allowed=False)
        framing, roles = self._read_messages(
            prompt["messages"], line, "input.messages", context, trained
        )
        framing += self._read_output(example, "preferred_output", line, context, trained)
        self._read_output(example, "non_preferred_output", line, rejected, rejected)
        _reject_special_tokens(line, context, trained, rejected)
        return Example(
            "preference", context, trained, framing + REPLY_PRIMING_TOKENS,
            "system" not in roles, "user" not in roles,
        )

    def _read_output(
        self, example: dict, key: str, line: int, context: list[str], trained: list[str]
    ) -> int:
        output = example[key]
        if type(output) is not list or len(output) != 1:
            raise InvalidExample(
                "invalid_preference_output",
                f'Line {line}, key "{key}": Input should be a list of exactly one assistant message',
            )
        message = output[0]
        if type(message) is dict and message.get("role") != "assistant":
            raise InvalidExample(
                "invalid_preference_output",
                f'Line {line}, key "{key}": the message should have role "assistant"',
            )
        return self._read_message(message, line, 1, key, context, trained)

    def _read_messages(
        self, messages: object, line: int, key: str, context: list[str], trained: list[str]
    ) -> tuple[int, set[str]]:
        if type(messages) is not list or not messages:
            raise InvalidExample(
                "missing_messages", f'Line {line}, key "{key}": Input should be a non-empty list'
            )
        framing = 0
        for index, message in enumerate(messages, 1):
            framing += self._read_message(message, line, index, key, context, trained)
        roles = {message["role"] for message in messages}
        return framing, roles

    def _read_message(
        self, message: object, line: int, index: int, key: str,
        context: list[str], trained: list[str],
    ) -> int:
        """Check one message, append its texts, and return its framing tokens."""
        if type(message) is not dict:
            raise InvalidExample(
                "invalid_message", f"{_where(line, index, key)}: Input should be a valid dictionary"
            )
        role = message.get("role")
        if role is None:
            raise InvalidExample(
                "missing_role",
                f"Example {line}, {_message_label(index, key)} Discriminator 'role' is missing in value",
            )
        allowed = ALLOWED_MESSAGE_KEYS.get(role) if type(role) is str else None
        if allowed is None:
            expected = ", ".join(f"'{name}'" for name in ROLES)
            raise InvalidExample(
                "unrecognized_role",
                f"{_where(line, index, key)}: Input tag {role!r} found using 'role' does not match "
                f"any of the expected tags: {expected}",
            )
        if not message.keys() <= allowed:
            _reject_message_key(message, allowed, line, index, key)
        framing = self._framing[role]
        texts = context
        if role == "assistant":
            weight = message.get("weight", 1)
            if type(weight) is not int or (weight != 0 and weight != 2 and weight != 1):
                raise InvalidExample(
                    "invalid_weight", f'{_where(line, index, key)}, key "weight": Input should be 0 or 1'
                )
            if weight == 1:
                texts = trained
            _read_assistant_calls(message, line, index, key, texts)
        content = message.get("content")
        if type(content) is str:
            texts.append(content)
        elif content is None:
            _check_missing_content(message, role, line, index, key)
        elif role == "user" and type(content) is list:
            _read_content_parts(content, line, index, key, texts)
        else:
            raise InvalidExample(
                "invalid_content", f'{_where(line, index, key)}, key "content": Input should be a valid string'
            )
        if "name" in message or role == "function":
            context.append(_required_string(message, "name", line, index, key))
            framing += TOKENS_PER_NAME
        if role == "tool":
            _required_string(message, "tool_call_id", line, index, key)
        elif role == "assistant" and message.get("refusal") is not None:
            _required_string(message, "refusal", line, index, key)
        return framing


def _read_prompt_completion(example: dict, line: int) -> Example:
    for key in ("prompt", "completion"):
        if key not in example:
            raise InvalidExample("missing_key", f"Example {line} is missing key '{key}'.")
    _reject_extra_keys(example, PROMPT_COMPLETION_KEYS, f"Example {line}")
    prompt, completion = example["prompt"], example["completion"]
    for key, value in (("prompt", prompt), ("completion", completion)):
        if type(value) is not str:
            raise _invalid_type(line, key, "a valid string")
    _reject_special_tokens(line, [prompt], [completion])
    return Example("prompt_completion", [prompt], [completion], 0, False, False)


def _read_tool_definitions(
    example: dict, line: int, texts: list[str], *, functions_allowed: bool
) -> None:
    tools = example.get("tools")
    functions = example.get("functions") if functions_allowed else None
    if tools is not None and functions is not None:
        raise InvalidExample(
            "tools_and_functions", f'Line {line}: use either "tools" or "functions", not both'
        )
    if "parallel_tool_calls" in example and type(example["parallel_tool_calls"]) is not bool:
        raise _invalid_type(line, "parallel_tool_calls", "a valid boolean")
    if tools is not None:
        if type(tools) is not list or not tools:
            raise _invalid_tools(line, "tools", "Input should be a non-empty list")
        for position, tool in enumerate(tools, 1):
            if type(tool) is not dict or not tool.keys() <= TOOL_KEYS or tool.get("type") != "function":
                raise _invalid_tools(
                    line, "tools", f'tool {position} should be {{"type": "function", "function": {{...}}}}'
                )
            _check_function_definition(tool.get("function"), line, "tools", position)
        texts.append(_canonical_json(tools))
    if functions is not None:
        if type(functions) is not list or not 1 <= len(functions) <= MAX_FUNCTIONS:
            raise _invalid_tools(line, "functions", f"Input should be a list of 1 to {MAX_FUNCTIONS} items")
        for position, function in enumerate(functions, 1):
            _check_function_definition(function, line, "functions", position)
        texts.append(_canonical_json(functions))


def _check_function_definition(function: object, line: int, key: str, position: int) -> None:
    problem = None
    if type(function) is not dict or not function.keys() <= FUNCTION_DEFINITION_KEYS:
        problem = "should be an object with name, description, parameters"
    elif type(function.get("name")) is not str:
        problem = "needs a string name"
    elif type(function.get("description", "")) is not str:
        problem = "has a description that is not a string"
    elif type(function.get("parameters", {})) is not dict:
        problem = "has parameters that are not an object"
    elif function.get("strict") is not None and type(function["strict"]) is not bool:
        problem = "has a strict flag that is not a boolean"
    if problem:
        raise _invalid_tools(line, key, f"function {position} {problem}")


def _read_assistant_calls(message: dict, line: int, index: int, key: str, texts: list[str]) -> None:
    tool_calls = message.get("tool_calls")
    if tool_calls is not None:
        if type(tool_calls) is not list or not tool_calls:
            raise _invalid_tool_call(line, index, key, "tool_calls should be a non-empty list")
        for position, call in enumerate(tool_calls, 1):
            if (
                type(call) is not dict
                or not call.keys() <= TOOL_CALL_KEYS
                or type(call.get("id")) is not str
                or call.get("type") != "function"
            ):
                raise _invalid_tool_call(
                    line, index, key,
                    f'tool call {position} should be {{"id": str, "type": "function", "function": {{...}}}}',
                )
            _read_function_call(call.get("function"), line, index, key, f"tool call {position}", texts)
    function_call = message.get("function_call")
    if function_call is not None:
        _read_function_call(function_call, line, index, key, "function_call", texts)


def _read_function_call(
    call: object, line: int, index: int, key: str, label: str, texts: list[str]
) -> None:
    if (
        type(call) is not dict
        or not call.keys() <= FUNCTION_CALL_KEYS
        or type(call.get("name")) is not str
        or type(call.get("arguments")) is not str
    ):
        raise _invalid_tool_call(
            line, index, key, f'{label} should have a string "name" and string "arguments"'
        )
    try:
        msgspec.json.decode(call["arguments"])
    except (ValueError, RecursionError):
        raise _invalid_tool_call(line, index, key, f"{label} arguments are not valid JSON") from None
    texts.append(call["name"])
    texts.append(call["arguments"])


def _read_content_parts(parts: list, line: int, index: int, key: str, texts: list[str]) -> None:
    if not parts:
        raise InvalidExample(
            "invalid_content", f'{_where(line, index, key)}, key "content": Input should be a non-empty list'
        )
    for position, part in enumerate(parts, 1):
        kind = part.get("type") if type(part) is dict else None
        if kind == "text" and part.keys() == {"type", "text"} and type(part["text"]) is str:
            texts.append(part["text"])
        elif kind == "image_url" and part.keys() == {"type", "image_url"} and _is_image_url(part["image_url"]):
            continue
        else:
            raise InvalidExample(
                "invalid_content",
                f'{_where(line, index, key)}, key "content": part {position} should be '
                '{"type": "text", "text": str} or {"type": "image_url", "image_url": {"url": str}}',
            )


def _is_image_url(image_url: object) -> bool:
    return (
        type(image_url) is dict
        and image_url.keys() <= IMAGE_URL_KEYS
        and type(image_url.get("url")) is str
        and image_url.get("detail", "auto") in IMAGE_DETAILS
    )


def _check_missing_content(message: dict, role: str, line: int, index: int, key: str) -> None:
    if role == "assistant" and (
        message.get("tool_calls") is not None or message.get("function_call") is not None
    ):
        return
    problem = "Input should be a valid string" if "content" in message else "Field required"
    raise InvalidExample("missing_content", f'{_where(line, index, key)}, key "content": {problem}')


def _required_string(message: dict, field: str, line: int, index: int, key: str) -> str:
    if field not in message:
        raise InvalidExample("missing_key", f'{_where(line, index, key)}, key "{field}": Field required')
    value = message[field]
    if type(value) is not str:
        raise InvalidExample(
            "invalid_type", f'{_where(line, index, key)}, key "{field}": Input should be a valid string'
        )
    return value


def _reject_message_key(
    message: dict, allowed: frozenset[str], line: int, index: int, key: str
) -> None:
    extra = next(name for name in message if name not in allowed)
    if extra == "weight":
        raise InvalidExample(
            "invalid_weight",
            f'{_where(line, index, key)}, key "weight": only assistant messages may carry a weight',
        )
    raise InvalidExample(
        "unrecognized_key", f'{_where(line, index, key)}, key "{extra}": Extra inputs are not permitted'
    )


def _reject_extra_keys(obj: dict, allowed: frozenset[str], subject: str) -> None:
    if not obj.keys() <= allowed:
        extra = next(name for name in obj if name not in allowed)
        raise InvalidExample("extra_key", f'{subject} contains an extra "{extra}".')


def _reject_special_tokens(line: int, *text_lists: list[str]) -> None:
    for texts in text_lists:
        for text in texts:
            if "<|" in text:
                for token in SPECIAL_TOKENS:
                    if token in text:
                        raise InvalidExample(
                            "special_token",
                            f"Example {line} message contains an invalid token: {token}.",
                        )


def _canonical_json(value: object) -> str:
    return msgspec.json.encode(value, order="sorted").decode()


def _message_label(index: int, key: str) -> str:
    return f"message {index}" if key == "messages" else f"{key} message {index}"


def _where(line: int, index: int, key: str) -> str:
    return f"Line {line}, {_message_label(index, key)}"


def _invalid_type(line: int, key: str, expected: str) -> InvalidExample:
    return InvalidExample("invalid_type", f'Line {line}, key "{key}": Input should be {expected}')


def _invalid_tools(line: int, key: str, problem: str) -> InvalidExample:
    return InvalidExample("invalid_tools", f'Line {line}, key "{key}": {problem}')


def _invalid_tool_call(line: int, index: int, key: str, problem: str) -> InvalidExample:
    return InvalidExample("invalid_tool_call", f"{_where(line, index, key)}: {problem}")
