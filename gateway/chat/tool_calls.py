"""Tool calls in generated text. Chat templates in the Hermes and Qwen style (the tiny model's
too) have the model write each call as `<tool_call>{"name": ..., "arguments": ...}</tool_call>`;
those become the message's `tool_calls`, with `arguments` as a JSON string, as OpenAI sends it.
Text that is not such a call stays content."""

import json
import re
from dataclasses import dataclass

from gateway.chat.schemas import CalledFunction

OPEN = "<tool_call>"
CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)


@dataclass(frozen=True)
class Parsed:
    content: str | None
    calls: list[CalledFunction]


def parse(text: str) -> Parsed | None:
    """The calls in `text` and the content around them (None when blank); None when `text` holds
    no call or one that is not well-formed, and so is content as it stands."""
    calls = [_call(match.group(1)) for match in CALL.finditer(text)]
    if not calls or None in calls:
        return None
    content = CALL.sub("", text).strip()
    return Parsed(content or None, [call for call in calls if call is not None])


def _call(body: str) -> CalledFunction | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None
    arguments = value.get("arguments", {})
    return CalledFunction(
        name=value["name"], arguments=arguments if isinstance(arguments, str) else json.dumps(arguments)
    )


class CallSplitter:
    """One streamed choice: its content as it comes, up to where a call begins; what follows is
    held, and read as calls when the choice ends."""

    def __init__(self) -> None:
        self._held = ""
        self._calling = False

    def feed(self, delta: str) -> str:
        """The text that is safe to send as content now."""
        text = self._held + delta
        if self._calling:
            self._held = text
            return ""
        start = text.find(OPEN)
        if start >= 0:
            self._calling = True
            self._held = text[start:]
            return text[:start]
        keep = _opening_at_end(text)
        self._held = text[len(text) - keep :]
        return text[: len(text) - keep]

    def finish(self, stopped: bool) -> tuple[str, list[CalledFunction]]:
        """The content still to send, and the calls: none unless the choice `stopped` by itself
        (one cut off by its token limit keeps its text)."""
        text, self._held = self._held, ""
        parsed = parse(text) if stopped else None
        if parsed is None:
            return text, []
        return parsed.content or "", parsed.calls


def _opening_at_end(text: str) -> int:
    """Length of the longest end of `text` that begins a call."""
    return next(
        (size for size in range(min(len(OPEN) - 1, len(text)), 0, -1) if text.endswith(OPEN[:size])), 0
    )
