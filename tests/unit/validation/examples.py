"""Small training examples shared by the validation tests."""

from __future__ import annotations

SYSTEM = {"role": "system", "content": "You are terse."}
USER = {"role": "user", "content": "Hi"}
ASSISTANT = {"role": "assistant", "content": "Hello."}
TOOLS = [{"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_time", "arguments": '{"tz": "UTC"}'},
}


def chat(*messages: dict, **extra: object) -> dict:
    return {"messages": list(messages), **extra}


VALID_EXAMPLES = {
    "user and assistant": chat(USER, ASSISTANT),
    "system and names": chat(SYSTEM, {**USER, "name": "ann"}, {**ASSISTANT, "name": "bot"}),
    "weights 0 and 1": chat(USER, {**ASSISTANT, "weight": 0}, USER, {**ASSISTANT, "weight": 1}),
    "tool calls": chat(
        USER,
        {"role": "assistant", "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "12:00"},
        {**ASSISTANT, "refusal": None},
        tools=TOOLS,
        parallel_tool_calls=False,
    ),
    "tool call with empty content": chat(USER, {"role": "assistant", "content": None, "tool_calls": [CALL]}),
    "functions": chat(
        USER,
        {"role": "assistant", "function_call": {"name": "get_time", "arguments": "{}"}},
        {"role": "function", "name": "get_time", "content": "12:00"},
        ASSISTANT,
        functions=[{"name": "get_time", "description": "Now", "parameters": {}}],
    ),
    "user content parts": chat(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://x.test/a.png", "detail": "low"},
                },
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        },
        ASSISTANT,
    ),
    "strict tool": chat(
        USER, ASSISTANT, tools=[{"type": "function", "function": {"name": "f", "strict": True}}]
    ),
    "empty assistant text": chat(USER, {"role": "assistant", "content": ""}),
}


def preference(**changes: object) -> dict:
    example = {
        "input": {"messages": [USER]},
        "preferred_output": [{"role": "assistant", "content": "Yes."}],
        "non_preferred_output": [{"role": "assistant", "content": "No."}],
    }
    return {**example, **changes}
