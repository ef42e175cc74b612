"""An eval's testing criteria: graders with a pass threshold and an id, checked against the
item schema when the eval is created (a template naming a field the items cannot have is the
caller's 400, with the path to it)."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gateway.errors import InvalidRequest
from gateway.evals import item_schema
from gateway.graders.schemas import echo as echo_grader
from graders import AnyGrader, GraderDefinitionError, GradeResult, parse_grader
from graders.models import (
    LabelModelGrader,
    MultiGrader,
    ScoreModelGrader,
    StringCheckGrader,
    TextSimilarityGrader,
)
from graders.templates import variables

CRITERION_TYPES = ("label_model", "string_check", "text_similarity", "python", "score_model", "multi")
# Without a pass_threshold a python or multi grader passes from this reward, a score_model
# grader from the middle of its range.
DEFAULT_PASS_THRESHOLD = 0.5


@dataclass(frozen=True)
class Criterion:
    id: str  # "{name}-{uuid}": the label of its results in runs and output items
    grader: AnyGrader
    pass_threshold: float | None

    def passed(self, result: GradeResult) -> bool:
        if result.errors.any():
            return False
        grader = self.grader
        if isinstance(grader, StringCheckGrader | LabelModelGrader):
            return result.reward >= 1.0
        if self.pass_threshold is not None:
            return result.reward >= self.pass_threshold
        if isinstance(grader, ScoreModelGrader):
            low, high = grader.bounds
            return result.reward >= (low + high) / 2
        return result.reward >= DEFAULT_PASS_THRESHOLD

    def echo(self) -> dict[str, Any]:
        body = {"id": self.id, **echo_grader(self.grader)}
        if self.pass_threshold is not None:
            body["pass_threshold"] = self.pass_threshold
        return body


def parse_new(raw: Any, schema: dict[str, Any]) -> list[Criterion]:
    """The criteria of a create request, each given an id; raises InvalidRequest."""
    if not isinstance(raw, list) or not raw:
        raise InvalidRequest(
            "testing_criteria must be a non-empty array of graders.", param="testing_criteria"
        )
    criteria = []
    for index, entry in enumerate(raw):
        param = f"testing_criteria[{index}]"
        criterion = _parse(entry, param, criterion_id=None)
        for where, template in templates(criterion.grader, param):
            _check_variables(template, where, schema)
        criteria.append(criterion)
    return criteria


def parse_stored(stored: list[dict[str, Any]]) -> list[Criterion]:
    return [_parse(entry, f"testing_criteria[{index}]", entry["id"]) for index, entry in enumerate(stored)]


def _parse(entry: Any, param: str, criterion_id: str | None) -> Criterion:
    try:
        grader = parse_grader(entry, param, types=CRITERION_TYPES)
    except GraderDefinitionError as error:
        raise InvalidRequest(error.message, param=error.param) from None
    threshold = entry.get("pass_threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int | float)):
        raise InvalidRequest("pass_threshold must be a number.", param=f"{param}.pass_threshold")
    if threshold is None and isinstance(grader, TextSimilarityGrader):
        raise InvalidRequest(
            f"Missing required parameter: '{param}.pass_threshold'.", param=f"{param}.pass_threshold"
        )
    return Criterion(
        id=criterion_id or f"{grader.name}-{uuid.uuid4()}",
        grader=grader,
        pass_threshold=float(threshold) if threshold is not None else None,
    )


def templates(grader: AnyGrader, param: str) -> Iterator[tuple[str, str]]:
    """Each template of `grader` with the parameter path that holds it."""
    if isinstance(grader, StringCheckGrader | TextSimilarityGrader):
        yield f"{param}.input", grader.input
        yield f"{param}.reference", grader.reference
    elif isinstance(grader, ScoreModelGrader | LabelModelGrader):
        for index, message in enumerate(grader.input):
            for text in message.texts():
                yield f"{param}.input[{index}].content", text
    elif isinstance(grader, MultiGrader):
        for name, sub in grader.graders.items():
            yield from templates(sub, f"{param}.graders.{name}")


def _check_variables(template: str, param: str, schema: dict[str, Any]) -> None:
    for path in variables(template):
        if path[0] == "item" and not item_schema.provides(schema, path[1:]):
            name = ".".join(path)
            raise InvalidRequest(
                f"Invalid template: {{{{{name}}}}} names a field that the eval's item_schema does not have.",
                param=param,
            )
