"""score_model and label_model: a judge model reads a rendered prompt and answers.

The graders package does not know how a model is reached: the caller hands it a `Judge` (the
gateway's local chat engine or an upstream). Score graders ask for `{"result": number}` and
label graders for `{"label": one of labels}` through a JSON-schema response format; a judge
that ignores the format is still understood when its text is such JSON, a bare number, or a
bare label.
"""

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

SCORE_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "score",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {
                "steps": {"type": "array", "items": {"type": "string"}},
                "result": {"type": "number"},
            },
            "required": ["steps", "result"],
            "additionalProperties": False,
        },
    },
}
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class JudgeRequest:
    model: str
    messages: list[dict[str, str]]
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    max_tokens: int | None = None
    reasoning_effort: str | None = None
    response_format: dict[str, Any] | None = None


@dataclass(frozen=True)
class JudgeReply:
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    refusal: str | None = None
    usage: dict[str, int] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class JudgeError(Exception):
    """The judge model could not answer (unknown model, upstream failure, budget...)."""


class Judge(Protocol):
    async def complete(self, request: JudgeRequest) -> JudgeReply: ...


def label_format(labels: list[str]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "label",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"label": {"type": "string", "enum": labels}},
                "required": ["label"],
                "additionalProperties": False,
            },
        },
    }


def parse_score(text: str) -> float | None:
    """The judge's score: `{"result": x}`, else the last number in its text."""
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("result"), int | float):
        value = float(answer["result"])
    elif isinstance(answer, int | float) and not isinstance(answer, bool):
        value = float(answer)
    else:
        numbers = NUMBER.findall(text)
        if not numbers:
            return None
        value = float(numbers[-1])
    return value if math.isfinite(value) else None


def parse_label(text: str, labels: list[str]) -> str | None:
    """The judge's label: `{"label": x}`, else the text itself, compared without case."""
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    candidate = answer.get("label") if isinstance(answer, dict) else text
    if not isinstance(candidate, str):
        return None
    wanted = candidate.strip().strip("\"'.").casefold()
    return next((label for label in labels if label.casefold() == wanted), None)
