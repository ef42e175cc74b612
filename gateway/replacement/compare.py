"""Compare: one eval over the held-out prompts of an original model, graded against the
original's answers, with a run on each of the original (while it answers), the base model and
the replacement. The runs are the Evals API's own: they run, page and show like any other."""

import time
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.aliases import repository as aliases_repository
from gateway.capture import repository as captures
from gateway.chat import service as chat_service
from gateway.errors import InvalidRequest, NotFound
from gateway.evals import service as evals_service
from gateway.evals.schemas import CreateEvalParams, CreateRunParams
from gateway.fine_tuning import repository as jobs_repository
from gateway.models import Job
from gateway.projects import Caller, operator_caller
from gateway.replacement.replace import REPLACES, Original, find_original
from gateway.replacement.schemas import MAX_NAME, ComparedRun, CompareRequest, Comparison, RunRole
from gateway.runtime import Runtime

DEFAULT_PASS_THRESHOLD = 0.7
ITEM_SCHEMA = {
    "type": "object",
    "properties": {
        "messages": {"type": "array", "items": {"type": "object"}},
        "answer": {"type": "string"},
    },
    "required": ["messages", "answer"],
}
JUDGE_INSTRUCTIONS = (
    "You compare a candidate answer with a reference answer to the same conversation. Score 1 when "
    "the candidate says what the reference says (wording may differ), 0 when it contradicts or "
    "misses it, and in between for a partial match. Answer with the score in `result`."
)
JUDGE_PROMPT = "Reference answer:\n{{item.answer}}\n\nCandidate answer:\n{{sample.output_text}}"


async def compare(
    session: AsyncSession,
    runtime: Runtime,
    actor: str,
    project_id: str,
    request: CompareRequest,
    base_url: str,
) -> Comparison:
    caller = await operator_caller(session, project_id, actor)
    if caller is None:
        raise NotFound(f"No such project: {project_id}", param="project_id")
    original = await find_original(session, project_id, request.original)
    replacement, replacement_job = await _replacement(session, project_id, original, request.replacement)
    base = request.base or (replacement_job.model if replacement_job is not None else None)
    if base is None:
        raise InvalidRequest(
            f"`{replacement}` is no fine-tuned model of the project: name the base model to compare with.",
            param="base",
        )
    held_out = request.held_out_file or await _held_out_file(session, project_id, original)
    notes: list[str] = []
    criteria = request.testing_criteria or await _preset_criteria(runtime, caller, original, request, notes)
    stored_eval = await evals_service.create_eval(
        session,
        caller,
        CreateEvalParams(
            name=request.name or f"{original.model}: original, base and replacement"[:MAX_NAME],
            metadata={"original": original.model[:512], "replacement": replacement[:512]},
            data_source_config={"type": "custom", "item_schema": ITEM_SCHEMA, "include_sample_schema": True},
            testing_criteria=criteria,
        ),
    )
    runs = []
    for role, model in (("original", original.model), ("base", base), ("replacement", replacement)):
        runs.append(
            await _run(session, runtime, caller, stored_eval.id, role, model, held_out, request, base_url)
        )
    return Comparison(
        eval_id=stored_eval.id,
        original=original.model,
        held_out_file=held_out,
        runs=runs,
        notes=notes,
        report_url=_report_url(base_url, stored_eval.id, [run.run_id for run in runs if run.run_id]),
    )


async def _replacement(
    session: AsyncSession, project_id: str, original: Original, named: str | None
) -> tuple[str, Job | None]:
    """The replacement model and the job that made it (None for a base model named as one)."""
    if named is not None:
        return named, await jobs_repository.by_fine_tuned_model(session, project_id, named)
    query = (
        jobs_repository.list_query(project_id, {REPLACES: original.model}, without_metadata=False)
        .where(Job.fine_tuned_model.is_not(None), Job.fine_tuned_model_deleted_at.is_(None))
        .order_by(Job.seq.desc())
        .limit(1)
    )
    job = await session.scalar(query)
    if job is None or job.fine_tuned_model is None:
        raise InvalidRequest(
            f"No job of the project has replaced `{original.model}` yet: run `ftgate openai replace` "
            "and wait for its job to succeed, or name the replacement.",
            param="replacement",
            code="replacement_not_found",
        )
    return job.fine_tuned_model, job


async def _held_out_file(session: AsyncSession, project_id: str, original: Original) -> str:
    capture = await captures.get(session, project_id, original.model)
    if capture is None or capture.held_out_file_id is None or capture.held_out_examples == 0:
        raise InvalidRequest(
            f"No held-out prompts of `{original.model}` were captured: capture its chats with a "
            "held-out fraction, or name an evals file (held_out_file).",
            param="held_out_file",
            code="file_content_missing",
        )
    return capture.held_out_file_id


async def _preset_criteria(
    runtime: Runtime, caller: Caller, original: Original, request: CompareRequest, notes: list[str]
) -> list[dict[str, Any]]:
    threshold = request.pass_threshold if request.pass_threshold is not None else DEFAULT_PASS_THRESHOLD
    criteria = []
    if "fuzzy_match" in request.graders:
        criteria.append(
            {
                "type": "text_similarity",
                "name": "fuzzy match to the original",
                "input": "{{sample.output_text}}",
                "reference": "{{item.answer}}",
                "evaluation_metric": "fuzzy_match",
                "pass_threshold": threshold,
            }
        )
    judge = await _judge_model(runtime, caller, original, request) if "judge" in request.graders else None
    if judge is not None:
        criteria.append(
            {
                "type": "score_model",
                "name": "judge: as good as the original",
                "model": judge,
                "input": [
                    {"role": "system", "content": JUDGE_INSTRUCTIONS},
                    {"role": "user", "content": JUDGE_PROMPT},
                ],
                "range": [0, 1],
                "sampling_params": {"temperature": 0},
                "pass_threshold": threshold,
            }
        )
    elif "judge" in request.graders:
        notes.append(
            f"The judge was left out: the project cannot chat with `{_base_of(original)}`, the "
            "original's base model; name a judge model (judge_model) to have one."
        )
    if not criteria:
        raise _judge_not_served(_base_of(original))
    return criteria


async def _judge_model(
    runtime: Runtime, caller: Caller, original: Original, request: CompareRequest
) -> str | None:
    """The judge's model: the one named (a 400 if the project cannot chat with it), else the
    original's base model while the project can chat with it."""
    model = request.judge_model or _base_of(original)
    if await chat_service.serves(runtime, caller, model):
        return model
    if request.judge_model is not None:
        raise _judge_not_served(model)
    return None


def _judge_not_served(model: str) -> InvalidRequest:
    return InvalidRequest(
        f"The judge model `{model}` does not exist or the project cannot chat with it: name one "
        "(judge_model), or leave the judge out (graders).",
        param="judge_model",
        code="model_not_found",
    )


def _base_of(original: Original) -> str:
    """The original's base model: its job's, else the one its name carries (`ft:BASE:…`)."""
    if original.job is not None:
        return original.job.model
    parts = original.model.split(":")
    return parts[1] if original.model.startswith("ft:") and len(parts) > 1 else original.model


async def _run(
    session: AsyncSession,
    runtime: Runtime,
    caller: Caller,
    eval_id: str,
    role: RunRole,
    model: str,
    held_out: str,
    request: CompareRequest,
    base_url: str,
) -> ComparedRun:
    if role == "original":
        now = int(time.time())
        answered_by = await aliases_repository.active_replacement(session, caller.project_id, model, now)
        if answered_by is not None:
            return _skipped(role, model, f"an alias in force sends `{model}` to `{answered_by}`")
    params = CreateRunParams(
        name=f"{role}: {model}"[:512],
        metadata={"role": role},
        data_source={
            "type": "completions",
            "model": model,
            "source": {"type": "file_id", "id": held_out},
            "input_messages": {"type": "item_reference", "item_reference": "item.messages"},
            "sampling_params": {"temperature": 0, "max_completion_tokens": request.max_completion_tokens},
        },
    )
    try:
        run = await evals_service.create_run(session, caller, runtime, eval_id, params, base_url)
    except InvalidRequest as refused:
        if role != "original" or refused.code != "model_not_found":
            raise
        return _skipped(role, model, "the project can no longer chat with it")
    return ComparedRun(role=role, model=model, run_id=run.id, report_url=run.report_url, skipped=None)


def _skipped(role: RunRole, model: str, reason: str) -> ComparedRun:
    return ComparedRun(role=role, model=model, run_id=None, report_url=None, skipped=reason)


def _report_url(base_url: str, eval_id: str, run_ids: list[str]) -> str:
    """The dashboard's eval page with the runs side by side (the first, compared with the rest)."""
    query = urlencode([("run_id", run_ids[0]), *(("compare", run_id) for run_id in run_ids[1:])])
    return f"{base_url.rstrip('/')}/dashboard/evals/{eval_id}?{query}"
