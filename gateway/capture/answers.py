"""The answer an upstream gave, read back from the bytes ftgate passed on: the first choice's
message of a `chat.completion`, or assembled from a stream's deltas. A stream counts only when
it ended properly (its first choice finished and `data: [DONE]` came); one cut short is None."""

import json
import re
from typing import Any

EVENT_END = re.compile(rb"\r?\n\r?\n")
DONE = "[DONE]"


def from_completion(body: bytes) -> dict[str, Any] | None:
    completion = _json(body)
    choices = completion.get("choices") if isinstance(completion, dict) else None
    if not isinstance(choices, list):
        return None
    first = next((c for c in choices if isinstance(c, dict) and c.get("index", 0) == 0), None)
    message = first.get("message") if first is not None else None
    return message if isinstance(message, dict) else None


def from_stream(body: bytes) -> dict[str, Any] | None:
    message = _Assembly()
    done = False
    for event in EVENT_END.split(body):
        data = _event_data(event)
        if data is None:
            continue
        if data.strip() == DONE:
            done = True
            continue
        chunk = _json(data.encode())
        for choice in chunk.get("choices") or [] if isinstance(chunk, dict) else []:
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                message.add(choice)
    return message.message() if done and message.finished else None


def _event_data(event: bytes) -> str | None:
    lines = [line for line in event.decode("utf-8", "replace").splitlines() if line.startswith("data:")]
    return "\n".join(line.removeprefix("data:").removeprefix(" ") for line in lines) if lines else None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


class _Assembly:
    """The first choice's deltas, put together: text appended, tool calls by their index."""

    def __init__(self) -> None:
        self.content: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.function_call: dict[str, str] | None = None
        self.finished = False

    def add(self, choice: dict[str, Any]) -> None:
        delta = choice.get("delta") or {}
        if isinstance(delta.get("content"), str):
            self.content.append(delta["content"])
        if isinstance(delta.get("refusal"), str):
            self.refusal.append(delta["refusal"])
        for call in delta.get("tool_calls") or []:
            self._add_tool_call(call)
        if isinstance(delta.get("function_call"), dict):
            self.function_call = self.function_call or {"name": "", "arguments": ""}
            _extend(self.function_call, delta["function_call"])
        if choice.get("finish_reason") is not None:
            self.finished = True

    def _add_tool_call(self, delta: dict[str, Any]) -> None:
        call = self.tool_calls.setdefault(
            delta.get("index", len(self.tool_calls)),
            {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
        )
        if delta.get("id"):
            call["id"] = delta["id"]
        if delta.get("type"):
            call["type"] = delta["type"]
        _extend(call["function"], delta.get("function") or {})

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self.content) if self.content else None,
        }
        if self.refusal:
            message["refusal"] = "".join(self.refusal)
        if self.tool_calls:
            message["tool_calls"] = [self.tool_calls[index] for index in sorted(self.tool_calls)]
        if self.function_call is not None:
            message["function_call"] = self.function_call
        return message


def _extend(target: dict[str, str], delta: dict[str, Any]) -> None:
    for key in ("name", "arguments"):
        if isinstance(delta.get(key), str):
            target[key] += delta[key]
