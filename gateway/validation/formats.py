"""OpenAI's rules for one decoded training example, by format, and the texts it is billed for.

`ExampleReader.read` either returns an `Example` (its format, the texts to count, split into
context and trained-assistant texts, and the fixed framing tokens) or raises `InvalidExample`
with a stable code and OpenAI's wording. Per-message rules live in `messages`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from gateway.validation.messages import read_message
from gateway.validation.problems import InvalidExample, invalid_type
from gateway.validation.report import ExampleFormat
from gateway.validation.tokens import REPLY_PRIMING_TOKENS

CHAT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})
PREFERENCE_KEYS = frozenset({"input", "preferred_output", "non_preferred_output"})
PREFERENCE_INPUT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls"})
PROMPT_COMPLETION_KEYS = frozenset({"prompt", "completion"})
TOOL_KEYS = frozenset({"type", "function"})
FUNCTION_DEFINITION_KEYS = frozenset({"name", "description", "parameters", "strict"})
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


@dataclass(slots=True)
class Example:
    format: ExampleFormat
    context_texts: list[str]
    trained_texts: list[str]
    framing_tokens: int
    lacks_system_message: bool
    lacks_user_message: bool


def detect_format(example: dict) -> ExampleFormat:
    """The format an object claims by its keys; chat when it claims none."""
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
            "chat",
            context,
            trained,
            framing + REPLY_PRIMING_TOKENS,
            lacks_system_message="system" not in roles,
            lacks_user_message="user" not in roles,
        )

    def _read_preference(self, example: dict, line: int) -> Example:
        for key in ("input", "preferred_output", "non_preferred_output"):
            if key not in example:
                raise InvalidExample("missing_key", f"Example {line} is missing key '{key}'.")
        _reject_extra_keys(example, PREFERENCE_KEYS, f"Example {line}")
        prompt = example["input"]
        if type(prompt) is not dict:
            raise invalid_type(line, "input", "a valid dictionary")
        if "messages" not in prompt:
            raise InvalidExample("missing_messages", f"Example {line} is missing key 'input.messages'.")
        _reject_extra_keys(prompt, PREFERENCE_INPUT_KEYS, f"Example {line} input")
        context: list[str] = []
        trained: list[str] = []
        rejected: list[str] = []
        _read_tool_definitions(prompt, line, context, functions_allowed=False)
        framing, roles = self._read_messages(prompt["messages"], line, "input.messages", context, trained)
        framing += self._read_output(example, "preferred_output", line, context, trained)
        self._read_output(example, "non_preferred_output", line, rejected, rejected)
        _reject_special_tokens(line, context, trained, rejected)
        return Example(
            "preference",
            context,
            trained,
            framing + REPLY_PRIMING_TOKENS,
            lacks_system_message="system" not in roles,
            lacks_user_message="user" not in roles,
        )

    def _read_output(self, example: dict, key: str, line: int, context: list[str], trained: list[str]) -> int:
        output = example[key]
        if type(output) is not list or len(output) != 1:
            raise InvalidExample(
                "invalid_preference_output",
                f'Line {line}, key "{key}": Input should be a list of one assistant message',
            )
        message = output[0]
        if type(message) is dict and message.get("role") != "assistant":
            raise InvalidExample(
                "invalid_preference_output",
                f'Line {line}, key "{key}": the message should have role "assistant"',
            )
        return read_message(message, line, 1, key, self._framing, context, trained)

    def _read_messages(
        self, messages: object, line: int, key: str, context: list[str], trained: list[str]
    ) -> tuple[int, set[str]]:
        if type(messages) is not list or not messages:
            raise InvalidExample(
                "missing_messages", f'Line {line}, key "{key}": Input should be a non-empty list'
            )
        framing = 0
        for index, message in enumerate(messages, 1):
            framing += read_message(message, line, index, key, self._framing, context, trained)
        return framing, {message["role"] for message in messages}


def _read_prompt_completion(example: dict, line: int) -> Example:
    for key in ("prompt", "completion"):
        if key not in example:
            raise InvalidExample("missing_key", f"Example {line} is missing key '{key}'.")
    _reject_extra_keys(example, PROMPT_COMPLETION_KEYS, f"Example {line}")
    prompt, completion = example["prompt"], example["completion"]
    for key, value in (("prompt", prompt), ("completion", completion)):
        if type(value) is not str:
            raise invalid_type(line, key, "a valid string")
    _reject_special_tokens(line, [prompt], [completion])
    return Example("prompt_completion", [prompt], [completion], 0, False, False)


def _read_tool_definitions(example: dict, line: int, texts: list[str], *, functions_allowed: bool) -> None:
    """Check `tools` (and `functions`) and queue their canonical JSON for counting."""
    tools = example.get("tools")
    functions = example.get("functions") if functions_allowed else None
    if tools is not None and functions is not None:
        raise InvalidExample(
            "tools_and_functions", f'Line {line}: use either "tools" or "functions", not both'
        )
    if "parallel_tool_calls" in example and type(example["parallel_tool_calls"]) is not bool:
        raise invalid_type(line, "parallel_tool_calls", "a valid boolean")
    if tools is not None:
        if type(tools) is not list or not tools:
            raise _invalid_tools(line, "tools", "Input should be a non-empty list")
        for position, tool in enumerate(tools, 1):
            if type(tool) is not dict or not tool.keys() <= TOOL_KEYS or tool.get("type") != "function":
                raise _invalid_tools(
                    line,
                    "tools",
                    f'tool {position} should be {{"type": "function", "function": {{...}}}}',
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
    """json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)."""
    return msgspec.json.encode(value, order="sorted").decode()


def _invalid_tools(line: int, key: str, problem: str) -> InvalidExample:
    return InvalidExample("invalid_tools", f'Line {line}, key "{key}": {problem}')
