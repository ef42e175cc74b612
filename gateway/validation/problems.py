"""`InvalidExample`, and the wording of OpenAI's validation messages (pydantic's phrasing).

Locations read "Example N", "Line N, message M" or "Line N, key \"k\""; N is the line number
counted from 1, M the message's position in its list, counted from 1.
"""

from __future__ import annotations


class InvalidExample(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def message_label(index: int, key: str) -> str:
    """`message 2` in the example's `messages`, `input.messages message 2` elsewhere."""
    return f"message {index}" if key == "messages" else f"{key} message {index}"


def where(line: int, index: int, key: str) -> str:
    return f"Line {line}, {message_label(index, key)}"


def invalid_type(line: int, key: str, expected: str) -> InvalidExample:
    return InvalidExample("invalid_type", f'Line {line}, key "{key}": Input should be {expected}')


def invalid_message_field(
    code: str, line: int, index: int, key: str, field: str, problem: str
) -> InvalidExample:
    return InvalidExample(code, f'{where(line, index, key)}, key "{field}": {problem}')


def invalid_tool_call(line: int, index: int, key: str, problem: str) -> InvalidExample:
    return InvalidExample("invalid_tool_call", f"{where(line, index, key)}: {problem}")
