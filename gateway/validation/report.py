"""The outcome of validating one training file: what was found, and what it costs in tokens.

`ValidationReport` is a frozen dataclass so that two runs over the same bytes compare equal;
`to_dict` / `from_dict` give the JSON-able form that is stored with the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ExampleFormat = Literal["chat", "preference", "prompt_completion"]


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One rejected line. `line` counts physical lines from 1, blank ones included."""

    line: int
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Counters, the first issues and the token figures of one training file.

    Token figures cover valid examples only; `billable_tokens` is what one epoch costs.
    """

    format: ExampleFormat | None
    n_lines: int
    n_examples: int
    n_invalid: int
    issues: tuple[ValidationIssue, ...]
    warnings: tuple[str, ...]
    encoding: str
    token_limit: int
    total_tokens: int
    billable_tokens: int
    max_example_tokens: int
    n_over_limit: int
    assistant_tokens: int

    @property
    def is_valid(self) -> bool:
        return self.n_invalid == 0 and self.format is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "n_lines": self.n_lines,
            "n_examples": self.n_examples,
            "n_invalid": self.n_invalid,
            "issues": [issue.to_dict() for issue in self.issues],
            "warnings": list(self.warnings),
            "encoding": self.encoding,
            "token_limit": self.token_limit,
            "total_tokens": self.total_tokens,
            "billable_tokens": self.billable_tokens,
            "max_example_tokens": self.max_example_tokens,
            "n_over_limit": self.n_over_limit,
            "assistant_tokens": self.assistant_tokens,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationReport:
        fields = dict(data)
        fields["issues"] = tuple(ValidationIssue(**issue) for issue in data["issues"])
        fields["warnings"] = tuple(data["warnings"])
        return cls(**fields)
