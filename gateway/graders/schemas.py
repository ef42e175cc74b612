"""/v1/fine_tuning/alpha/graders: RunGraderRequest/Response, ValidateGraderRequest/Response."""

from typing import Any

from pydantic import BaseModel, ConfigDict

from graders import ErrorFlags, GradeResult
from graders.models import AnyGrader, MultiGrader

TOP_LEVEL_TYPES = ("string_check", "text_similarity", "python", "score_model", "multi")


class RunGraderParams(BaseModel):
    """The grader stays raw JSON here: `graders.parse_grader` reads it and names bad paths."""

    model_config = ConfigDict(extra="ignore")

    grader: dict[str, Any]
    model_sample: str
    item: dict[str, Any] | None = None


class ValidateGraderParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    grader: dict[str, Any]


class RunGraderMetadata(BaseModel):
    name: str
    type: str
    errors: ErrorFlags
    execution_time: float
    scores: dict[str, Any]
    token_usage: int | None
    sampled_model_name: str | None


class RunGraderResponse(BaseModel):
    reward: float
    metadata: RunGraderMetadata
    sub_rewards: dict[str, Any]
    model_grader_token_usage_per_model: dict[str, Any]

    @classmethod
    def of(cls, grader: AnyGrader, result: GradeResult) -> "RunGraderResponse":
        return cls(
            reward=result.reward,
            metadata=RunGraderMetadata(
                name=grader.name,
                type=grader.type,
                errors=result.errors,
                execution_time=result.execution_time,
                scores=result.scores,
                token_usage=result.token_usage,
                sampled_model_name=result.sampled_model_name,
            ),
            sub_rewards=result.sub_rewards,
            model_grader_token_usage_per_model=result.usage_per_model,
        )


class ValidateGraderResponse(BaseModel):
    grader: dict[str, Any]

    @classmethod
    def of(cls, grader: AnyGrader) -> "ValidateGraderResponse":
        return cls(grader=echo(grader))


def echo(grader: AnyGrader) -> dict[str, Any]:
    """The normalised grader: a multi grader's `graders` always as a dict of named graders."""
    if isinstance(grader, MultiGrader):
        body = grader.model_dump(exclude={"graders"}, exclude_none=True)
        return body | {"graders": {name: echo(sub) for name, sub in grader.graders.items()}}
    return grader.model_dump(exclude_none=True)
