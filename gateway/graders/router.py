"""/v1/fine_tuning/alpha/graders: run a grader on one sample, or check that one is valid."""

from typing import Any

from fastapi import APIRouter, Request

from gateway.admission import ProjectRoute
from gateway.chat.on_behalf import ProjectChat
from gateway.deps import CallerDep, RuntimeDep
from gateway.errors import InvalidRequest
from gateway.graders.judge import ChatJudge
from gateway.graders.schemas import (
    TOP_LEVEL_TYPES,
    RunGraderParams,
    RunGraderResponse,
    ValidateGraderParams,
    ValidateGraderResponse,
)
from gateway.ratelimit.admission import ChatTokensDebit, admit_chat
from graders import AnyGrader, GraderDefinitionError, Grading, parse_grader, sample_namespace, uses_judge

router = APIRouter(prefix="/v1/fine_tuning/alpha/graders", tags=["graders"], route_class=ProjectRoute)


def _grader(raw: dict[str, Any]) -> AnyGrader:
    try:
        return parse_grader(raw, "grader", types=TOP_LEVEL_TYPES)
    except GraderDefinitionError as error:
        raise InvalidRequest(error.message, param=error.param) from None


@router.post("/run")
async def run(
    params: RunGraderParams, runtime: RuntimeDep, caller: CallerDep, request: Request
) -> RunGraderResponse:
    grader = _grader(params.grader)
    judge = None
    if uses_judge(grader):
        debit = await admit_chat(request, runtime.rate_limiter, caller)
        judge = ChatJudge(ProjectChat(runtime, caller, admit=lambda: _already(debit)))
    grading = Grading(sandbox=runtime.grader_sandbox, judge=judge)
    result = await grading.grade(grader, sample_namespace(params.model_sample), params.item or {})
    return RunGraderResponse.of(grader, result)


@router.post("/validate")
async def validate(params: ValidateGraderParams) -> ValidateGraderResponse:
    return ValidateGraderResponse.of(_grader(params.grader))


async def _already(debit: ChatTokensDebit) -> ChatTokensDebit:
    """The request was admitted once; each judge call pays its tokens through `debit`."""
    return debit
