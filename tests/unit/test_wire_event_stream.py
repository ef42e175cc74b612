"""The wire checker reads OpenAI's server-sent events chunk by chunk."""

import json

import pytest

from tests.support.wire import check_event_stream

CHUNK = {
    "id": "chatcmpl-1",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "tiny-chat",
    "choices": [{"index": 0, "delta": {"content": "Hi"}, "logprobs": None, "finish_reason": None}],
}
SCHEMA = "CreateChatCompletionStreamResponse"


def stream(*events: object) -> str:
    return "".join(f"data: {event if isinstance(event, str) else json.dumps(event)}\n\n" for event in events)


def test_a_well_formed_stream_passes():
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    check_event_stream(stream(CHUNK, {**CHUNK, "choices": [], "usage": usage}, "[DONE]"), SCHEMA)


@pytest.mark.parametrize(
    "text",
    [
        stream(CHUNK),  # no [DONE]
        stream({**CHUNK, "object": "chat.completion"}, "[DONE]"),
        stream({**CHUNK, "choices": [{"index": 0, "delta": {}}]}, "[DONE]"),  # finish_reason missing
        "",
    ],
)
def test_a_broken_stream_fails(text):
    with pytest.raises((AssertionError, ValueError)):
        check_event_stream(text, SCHEMA)
