"""What can go wrong with a grader: a bad definition (the caller's 400) or a flag on a result."""

from pydantic import BaseModel


class GraderDefinitionError(ValueError):
    """A grader that cannot be used as written; `param` is the path to the culprit."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class ErrorFlags(BaseModel):
    """OpenAI's `metadata.errors`: every flag present, false unless something went wrong."""

    formula_parse_error: bool = False
    sample_parse_error: bool = False
    truncated_observation_error: bool = False
    unresponsive_reward_error: bool = False
    invalid_variable_error: bool = False
    other_error: bool = False
    python_grader_server_error: bool = False
    python_grader_server_error_type: str | None = None
    python_grader_runtime_error: bool = False
    python_grader_runtime_error_details: str | None = None
    model_grader_server_error: bool = False
    model_grader_refusal_error: bool = False
    model_grader_parse_error: bool = False
    model_grader_server_error_details: str | None = None

    def any(self) -> bool:
        return any(value is True for value in self.model_dump().values())

    def merge(self, other: "ErrorFlags") -> "ErrorFlags":
        """Flags raised here or in `other` (a sub-grader's); the first details win."""
        mine, theirs = self.model_dump(), other.model_dump()
        return ErrorFlags(**{key: mine[key] or theirs[key] for key in mine})
