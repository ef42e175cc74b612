"""Every structural rule, with a valid and an invalid example, and OpenAI's wording."""

from __future__ import annotations

import json

import pytest

from gateway.validation.formats import SPECIAL_TOKENS

from .examples import ASSISTANT, CALL, SYSTEM, TOOLS, USER, VALID_EXAMPLES, chat, preference
from .support import jsonl, only_issue, validate


@pytest.mark.parametrize("example", VALID_EXAMPLES.values(), ids=VALID_EXAMPLES.keys())
def test_valid_chat_examples(example: dict) -> None:
    report = validate(jsonl(example))
    assert report.issues == ()
    assert (report.format, report.n_examples, report.is_valid) == ("chat", 1, True)


def test_valid_preference_example() -> None:
    example = {
        "input": {"messages": [SYSTEM, USER], "tools": TOOLS, "parallel_tool_calls": True},
        "preferred_output": [{"role": "assistant", "content": "Hello."}],
        "non_preferred_output": [{"role": "assistant", "content": "Go away."}],
    }
    report = validate(jsonl(example))
    assert (report.format, report.n_examples, report.is_valid) == ("preference", 1, True)


def test_valid_prompt_completion_example() -> None:
    report = validate(jsonl({"prompt": "2+2=", "completion": "4"}))
    assert (report.format, report.n_examples, report.is_valid) == ("prompt_completion", 1, True)


def bad_line(line: bytes, code: str, message: str | None = None) -> None:
    issue = only_issue(line + b"\n")
    assert (issue.line, issue.code) == (1, code), issue
    if message is not None:
        assert issue.message == message


def bad(example: object, code: str, message: str | None = None) -> None:
    bad_line(json.dumps(example).encode(), code, message)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b'{"messages": [}', "invalid_json"),
        (b'{"messages": NaN}', "invalid_json"),
        (b'{"messages": 1e999}', "invalid_json"),
        (b'{"messages": "\\ud800"}', "invalid_json"),
        (b'{"messages": ' + b"9" * 5000 + b"}", "invalid_json"),
        (b'{"messages": "\xff"}', "invalid_utf8"),
        (b"\xc3", "invalid_utf8"),
        (b"[" * 5000 + b"]" * 5000, "nesting_too_deep"),
        (b"[1, 2]", "not_an_object"),
        (b'"text"', "not_an_object"),
    ],
)
def test_lines_that_are_not_json_objects(line: bytes, code: str) -> None:
    bad_line(line, code)


def test_invalid_json_and_not_an_object_wording() -> None:
    issue = only_issue(b'{"messages": [}\n')
    assert issue.message.startswith("Example 1 cannot be parsed. Error: line contains invalid json: ")
    assert issue.message.endswith("(line 1)")
    bad_line(b"[1, 2]", "not_an_object", 'Line 1 is not a dictionary (HINT: line starts with: "[1,...").')


def test_messages_must_be_a_non_empty_list() -> None:
    bad({"prompts": []}, "missing_messages", "Example 1 is missing key 'messages'.")
    bad(chat(), "missing_messages", 'Line 1, key "messages": Input should be a non-empty list')
    bad({"messages": {"role": "user"}}, "missing_messages")


def test_top_level_extra_keys() -> None:
    bad(chat(USER, ASSISTANT, weight=1), "extra_key", 'Example 1 contains an extra "weight".')
    bad(chat(USER, ASSISTANT, metadata={}), "extra_key")


def test_messages_need_a_known_role() -> None:
    bad(chat(USER, 7), "invalid_message", "Line 1, message 2: Input should be a valid dictionary")
    bad(
        chat({"content": "x"}, ASSISTANT),
        "missing_role",
        "Example 1, message 1 Discriminator 'role' is missing in value",
    )
    bad(
        chat({"role": "bot", "content": "x"}, ASSISTANT),
        "unrecognized_role",
        "Line 1, message 1: Input tag 'bot' found using 'role' does not match any of the expected "
        "tags: 'system', 'user', 'assistant', 'tool', 'function'",
    )
    bad(chat({"role": ["user"], "content": "x"}, ASSISTANT), "unrecognized_role")


@pytest.mark.parametrize(
    ("message", "key"),
    [
        ({**SYSTEM, "tool_calls": []}, "tool_calls"),
        ({**USER, "refusal": "no"}, "refusal"),
        ({**ASSISTANT, "tool_call_id": "x"}, "tool_call_id"),
        ({"role": "tool", "tool_call_id": "c", "content": "x", "name": "n"}, "name"),
        ({"role": "function", "name": "f", "content": "x", "extra": 1}, "extra"),
    ],
)
def test_keys_allowed_per_role(message: dict, key: str) -> None:
    bad(
        chat(USER, ASSISTANT, message),
        "unrecognized_key",
        f'Line 1, message 3, key "{key}": Extra inputs are not permitted',
    )


def test_content_rules() -> None:
    bad(
        chat({"role": "user"}, ASSISTANT),
        "missing_content",
        'Line 1, message 1, key "content": Field required',
    )
    bad(chat(USER, {"role": "assistant", "content": None}), "missing_content")
    bad(chat(USER, {"role": "assistant", "refusal": "no"}), "missing_content")
    bad(chat(USER, {"role": "system", "content": None}, ASSISTANT), "missing_content")
    bad(
        chat(
            USER,
            {"role": "assistant", "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "x"}]},
        ),
        "invalid_content",
        'Line 1, message 3, key "content": Input should be a valid string',
    )
    bad(
        chat({"role": "system", "content": [{"type": "text", "text": "x"}]}, USER, ASSISTANT),
        "invalid_content",
    )
    bad(chat(USER, {"role": "assistant", "content": 5}), "invalid_content")
    bad(chat({"role": "user", "content": []}, ASSISTANT), "invalid_content")


@pytest.mark.parametrize(
    "part",
    [
        {"type": "text"},
        {"type": "text", "text": 1},
        {"type": "text", "text": "x", "extra": 1},
        {"type": "image_url", "image_url": "https://x.test/a.png"},
        {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "max"}},
        {"type": "input_audio", "input_audio": {}},
        "text",
    ],
)
def test_user_content_parts(part: object) -> None:
    bad(
        chat({"role": "user", "content": [{"type": "text", "text": "ok"}, part]}, ASSISTANT),
        "invalid_content",
    )


@pytest.mark.parametrize("weight", [2, -1, 0.5, 1.0, True, False, "1", None])
def test_weight_is_0_or_1(weight: object) -> None:
    bad(
        chat(USER, {**ASSISTANT, "weight": weight}),
        "invalid_weight",
        'Line 1, message 2, key "weight": Input should be 0 or 1',
    )


def test_weight_only_on_assistant_messages() -> None:
    bad(chat({**USER, "weight": 1}, ASSISTANT), "invalid_weight")
    bad(chat({**SYSTEM, "weight": 0}, USER, ASSISTANT), "invalid_weight")


def test_an_assistant_message_is_required() -> None:
    bad(
        chat(SYSTEM, USER),
        "missing_assistant_message",
        "Example 1 is missing an assistant message.",
    )
    assert validate(jsonl(chat(USER, {**ASSISTANT, "weight": 0}))).is_valid


@pytest.mark.parametrize(
    "call",
    [
        {**CALL, "function": {"name": "get_time", "arguments": "{not json"}},
        {**CALL, "function": {"name": "get_time", "arguments": {"tz": "UTC"}}},
        {**CALL, "function": {"name": "get_time"}},
        {**CALL, "function": {"name": 3, "arguments": "{}"}},
        {**CALL, "type": "retrieval"},
        {"type": "function", "function": CALL["function"]},
        {**CALL, "extra": 1},
        "call_1",
    ],
)
def test_tool_call_shape(call: object) -> None:
    bad(chat(USER, {"role": "assistant", "tool_calls": [call]}), "invalid_tool_call")


def test_tool_calls_and_function_call_containers() -> None:
    bad(chat(USER, {"role": "assistant", "tool_calls": []}), "invalid_tool_call")
    bad(chat(USER, {"role": "assistant", "tool_calls": CALL}), "invalid_tool_call")
    bad(chat(USER, {"role": "assistant", "function_call": {"arguments": "{}"}}), "invalid_tool_call")
    bad(
        chat(USER, {"role": "assistant", "function_call": {"name": "f", "arguments": "[1,"}}),
        "invalid_tool_call",
    )


def test_tool_and_function_messages_need_their_keys() -> None:
    call = {"role": "assistant", "tool_calls": [CALL]}
    bad(
        chat(USER, call, {"role": "tool", "content": "12:00"}),
        "missing_key",
        'Line 1, message 3, key "tool_call_id": Field required',
    )
    bad(chat(USER, call, {"role": "tool", "tool_call_id": 1, "content": "12:00"}), "invalid_type")
    bad(chat(USER, {"role": "function", "content": "12:00"}, ASSISTANT), "missing_key")
    bad(
        chat({**USER, "name": 5}, ASSISTANT),
        "invalid_type",
        'Line 1, message 1, key "name": Input should be a valid string',
    )
    bad(chat(USER, {**ASSISTANT, "refusal": 5}), "invalid_type")


@pytest.mark.parametrize(
    "tools",
    [
        [],
        {"type": "function"},
        [{"type": "retrieval"}],
        [{"type": "function", "function": {"description": "no name"}}],
        [{"type": "function", "function": {"name": "f", "parameters": "{}"}}],
        [{"type": "function", "function": {"name": "f", "description": 1}}],
        [{"type": "function", "function": {"name": "f", "strict": 1}}],
        [{"type": "function", "function": {"name": "f", "examples": []}}],
        [{"type": "function", "function": {"name": "f"}, "extra": 1}],
    ],
)
def test_tool_definitions(tools: object) -> None:
    bad(chat(USER, ASSISTANT, tools=tools), "invalid_tools")


def test_function_definitions_and_their_limits() -> None:
    bad(chat(USER, ASSISTANT, functions=[]), "invalid_tools")
    bad(chat(USER, ASSISTANT, functions=[{"name": f"f{i}"} for i in range(129)]), "invalid_tools")
    assert validate(jsonl(chat(USER, ASSISTANT, functions=[{"name": f"f{i}"} for i in range(128)]))).is_valid
    bad(chat(USER, ASSISTANT, tools=TOOLS, functions=[{"name": "f"}]), "tools_and_functions")
    bad(chat(USER, ASSISTANT, parallel_tool_calls="no"), "invalid_type")


@pytest.mark.parametrize("token", SPECIAL_TOKENS)
def test_special_tokens_are_rejected(token: str) -> None:
    bad(
        chat(USER, {"role": "assistant", "content": f"fine {token} text"}),
        "special_token",
        f"Example 1 message contains an invalid token: {token}.",
    )


def test_special_tokens_are_found_wherever_text_is_counted() -> None:
    leaky_call = {**CALL, "function": {"name": "get_time", "arguments": '{"x": "<|im_end|>"}'}}
    bad(chat(USER, {"role": "assistant", "tool_calls": [leaky_call]}), "special_token")
    bad(chat({**USER, "name": "<|im_start|>"}, ASSISTANT), "special_token")
    bad(
        chat(
            USER,
            ASSISTANT,
            tools=[{"type": "function", "function": {"name": "f", "description": "<|endoftext|>"}}],
        ),
        "special_token",
    )
    bad({"prompt": "<|endofprompt|>", "completion": "x"}, "special_token")
    assert validate(jsonl(chat(USER, {"role": "assistant", "content": "a <| b |> <|unknown|>"}))).is_valid


def test_preference_rules() -> None:
    bad(
        {"preferred_output": [], "non_preferred_output": []},
        "missing_key",
        "Example 1 is missing key 'input'.",
    )
    bad(preference(weight=1), "extra_key", 'Example 1 contains an extra "weight".')
    bad(preference(input=[USER]), "invalid_type")
    bad(preference(input={"prompt": "x"}), "missing_messages")
    bad(preference(input={"messages": [USER], "functions": [{"name": "f"}]}), "extra_key")
    bad(preference(input={"messages": []}), "missing_messages")
    bad(preference(input={"messages": [{"role": "bot", "content": "x"}]}), "unrecognized_role")
    two = [{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "b"}]
    bad(preference(preferred_output=two), "invalid_preference_output")
    bad(preference(non_preferred_output=[]), "invalid_preference_output")
    bad(
        preference(preferred_output={"role": "assistant", "content": "a"}),
        "invalid_preference_output",
    )
    bad(preference(preferred_output=[USER]), "invalid_preference_output")
    bad(preference(non_preferred_output=[{"role": "assistant", "content": 1}]), "invalid_content")
    bad(
        preference(non_preferred_output=[{"role": "assistant", "content": "<|endoftext|>"}]),
        "special_token",
    )


def test_prompt_completion_rules() -> None:
    bad({"prompt": "x"}, "missing_key", "Example 1 is missing key 'completion'.")
    bad(
        {"prompt": 1, "completion": "x"},
        "invalid_type",
        'Line 1, key "prompt": Input should be a valid string',
    )
    bad({"prompt": "x", "completion": "y", "weight": 1}, "extra_key")


def test_mixed_formats_are_an_issue_on_the_line_that_differs() -> None:
    data = jsonl(
        {"prompt": "a", "completion": "b"},
        chat(USER, ASSISTANT),
        preference(),
        {"prompt": "c", "completion": "d"},
    )
    report = validate(data)
    assert report.format == "prompt_completion"
    assert [(issue.line, issue.code) for issue in report.issues] == [
        (2, "mixed_format"),
        (3, "mixed_format"),
    ]
    assert report.issues[0].message == (
        "Example 2 is in the chat format, but earlier examples are in the prompt_completion format."
    )


def test_the_format_comes_from_the_first_valid_example() -> None:
    report = validate(jsonl(chat(USER), {"prompt": "a", "completion": "b"}, chat(USER, ASSISTANT)))
    assert report.format == "prompt_completion"
    assert [(issue.line, issue.code) for issue in report.issues] == [
        (1, "missing_assistant_message"),
        (3, "mixed_format"),
    ]


def test_line_too_long() -> None:
    data = jsonl(chat(USER, {"role": "assistant", "content": "x" * 200}), chat(USER, ASSISTANT))
    report = validate(data, chunk_size=7, max_line_bytes=100)
    assert report.n_examples == 1
    assert report.issues[0].line == 1
    assert report.issues[0].code == "line_too_long"
    assert report.issues[0].message == "Line 1 is longer than 100 bytes."
