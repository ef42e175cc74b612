"""A failed job's `error`, stored and served as OpenAI's `{code, message, param}`."""

from dataclasses import dataclass
from typing import Any

UPSTREAM_CODE = "upstream_error"
UPSTREAM_MESSAGE = "The job failed at its upstream."


@dataclass(frozen=True)
class JobError:
    code: str
    message: str
    param: str | None = None

    @classmethod
    def from_upstream(cls, error: dict[str, Any] | None) -> "JobError":
        """An upstream's (or OpenAI's) `error`, its missing code and message filled in."""
        error = error or {}
        return cls(
            str(error.get("code") or UPSTREAM_CODE),
            str(error.get("message") or UPSTREAM_MESSAGE),
            error.get("param"),
        )

    def as_wire(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "param": self.param}
