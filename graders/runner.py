"""`grade()`: one grader, one sample, one item -> a reward with OpenAI's metadata."""

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from graders.errors import ErrorFlags
from graders.formula import FormulaEvaluationError
from graders.judge import (
    SCORE_FORMAT,
    Judge,
    JudgeError,
    JudgeRequest,
    label_format,
    parse_label,
    parse_score,
)
from graders.models import (
    AnyGrader,
    EvalMessage,
    LabelModelGrader,
    ModelSamplingParams,
    MultiGrader,
    PythonGrader,
    ScoreModelGrader,
    StringCheckGrader,
    TextSimilarityGrader,
)
from graders.sandbox import PythonSandbox
from graders.similarity import string_check, text_similarity
from graders.templates import MissingVariable, render


@dataclass
class GradeResult:
    reward: float
    errors: ErrorFlags = field(default_factory=ErrorFlags)
    scores: dict[str, Any] = field(default_factory=dict)
    sub_rewards: dict[str, float] = field(default_factory=dict)
    token_usage: int | None = None
    sampled_model_name: str | None = None
    usage_per_model: dict[str, dict[str, int]] = field(default_factory=dict)
    execution_time: float = 0.0


@dataclass
class Grading:
    """What graders need beyond the grader itself: the python sandbox and a judge."""

    sandbox: PythonSandbox = field(default_factory=PythonSandbox)
    judge: Judge | None = None

    async def grade(self, grader: AnyGrader, sample: dict[str, Any], item: dict[str, Any]) -> GradeResult:
        started = time.perf_counter()
        context = {"item": item, "sample": sample}
        try:
            result = await self._grade(grader, sample, item, context)
        except MissingVariable as missing:
            parse = missing.in_sample_json and sample.get("output_json") is None
            result = GradeResult(0.0, ErrorFlags(sample_parse_error=parse, invalid_variable_error=not parse))
        result.execution_time = time.perf_counter() - started
        return result

    async def _grade(
        self, grader: AnyGrader, sample: dict[str, Any], item: dict[str, Any], context: dict[str, Any]
    ) -> GradeResult:
        if isinstance(grader, StringCheckGrader):
            text, reference = render(grader.input, context), render(grader.reference, context)
            return GradeResult(string_check(grader.operation, text, reference))
        if isinstance(grader, TextSimilarityGrader):
            text, reference = render(grader.input, context), render(grader.reference, context)
            if len(text) + len(reference) > 10_000:
                score = await asyncio.to_thread(text_similarity, grader.evaluation_metric, text, reference)
            else:
                score = text_similarity(grader.evaluation_metric, text, reference)
            return GradeResult(score)
        if isinstance(grader, PythonGrader):
            outcome = await self.sandbox.run(grader.source, sample, item)
            return GradeResult(outcome.reward, outcome.errors)
        if isinstance(grader, ScoreModelGrader | LabelModelGrader):
            return await self._ask_judge(grader, context)
        assert isinstance(grader, MultiGrader)
        return await self._multi(grader, sample, item)

    async def _multi(self, grader: MultiGrader, sample: dict[str, Any], item: dict[str, Any]) -> GradeResult:
        names = list(grader.graders)
        results = await asyncio.gather(*(self.grade(grader.graders[name], sample, item) for name in names))
        sub_rewards = {name: result.reward for name, result in zip(names, results, strict=True)}
        merged = GradeResult(0.0, sub_rewards=sub_rewards, scores=dict(sub_rewards))
        for result in results:
            merged.errors = merged.errors.merge(result.errors)
            _add_usage(merged, result)
        try:
            merged.reward = grader.formula.evaluate(sub_rewards)
        except FormulaEvaluationError:
            merged.errors = merged.errors.merge(ErrorFlags(formula_parse_error=True))
        return merged

    async def _ask_judge(
        self, grader: ScoreModelGrader | LabelModelGrader, context: dict[str, Any]
    ) -> GradeResult:
        if self.judge is None:
            return GradeResult(0.0, _judge_failure("no judge model is available here"))
        request = _judge_request(grader, context)
        try:
            reply = await self.judge.complete(request)
        except JudgeError as error:
            return GradeResult(0.0, _judge_failure(str(error)))
        result = GradeResult(0.0, sampled_model_name=reply.model, token_usage=reply.total_tokens)
        result.usage_per_model[reply.model] = reply.usage or {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.total_tokens,
            "cached_tokens": 0,
        }
        if reply.refusal:
            result.errors = ErrorFlags(model_grader_refusal_error=True)
        elif isinstance(grader, ScoreModelGrader):
            score = parse_score(reply.text)
            low, high = grader.bounds
            if score is None or not low <= score <= high:
                result.errors = ErrorFlags(model_grader_parse_error=True)
            else:
                result.reward = score
        else:
            label = parse_label(reply.text, grader.labels)
            if label is None:
                result.errors = ErrorFlags(model_grader_parse_error=True)
            else:
                result.reward = 1.0 if label in grader.passing_labels else 0.0
                result.scores = {"label": label}
        return result


def _judge_failure(details: str) -> ErrorFlags:
    return ErrorFlags(model_grader_server_error=True, model_grader_server_error_details=details)


def _render_messages(messages: list[EvalMessage], context: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"role": message.role, "content": "\n".join(render(text, context) for text in message.texts())}
        for message in messages
    ]


def _judge_request(grader: ScoreModelGrader | LabelModelGrader, context: dict[str, Any]) -> JudgeRequest:
    messages = _render_messages(grader.input, context)
    if isinstance(grader, LabelModelGrader):
        return JudgeRequest(grader.model, messages, response_format=label_format(grader.labels))
    params = grader.sampling_params or ModelSamplingParams()
    return JudgeRequest(
        grader.model,
        messages,
        temperature=params.temperature,
        top_p=params.top_p,
        seed=params.seed,
        max_tokens=params.max_completions_tokens,
        reasoning_effort=params.reasoning_effort,
        response_format=SCORE_FORMAT,
    )


def _add_usage(total: GradeResult, part: GradeResult) -> None:
    if part.token_usage is not None:
        total.token_usage = (total.token_usage or 0) + part.token_usage
        total.sampled_model_name = total.sampled_model_name or part.sampled_model_name
    for model, usage in part.usage_per_model.items():
        into = total.usage_per_model.setdefault(model, {})
        for key, value in usage.items():
            into[key] = into.get(key, 0) + value
