"""An eval run, worked by one task at a time under its lease. Each item without an output item
yet is sampled (completions runs), graded by every criterion and written together with the
run's totals in one transaction, so a killed worker's successor grades only what is missing,
and none twice. A canceled or deleted run stops at its next item."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import ids
from gateway.chat.on_behalf import ChatFailed, ProjectChat
from gateway.errors import GatewayError
from gateway.evals import criteria as criteria_module
from gateway.evals import data_sources, repository
from gateway.evals.criteria import Criterion
from gateway.evals.data_sources import Row, RunSource
from gateway.evals.item_schema import ItemChecker
from gateway.evals.status import ACTIVE, RunStatus
from gateway.files import repository as files_repository
from gateway.graders.judge import ChatJudge
from gateway.models import StoredEvalRun, StoredOutputItem
from gateway.projects import caller_of_key, operator_caller
from gateway.ratelimit.admission import wait_for_chat
from gateway.runtime import Runtime
from gateway.text import storable
from graders import GradeResult, Grading, sample_namespace
from graders.templates import MissingVariable
from workers.lease import renewed

log = logging.getLogger(__name__)


async def run_eval(runtime: Runtime, run_id: str) -> None:
    async with _held(runtime, run_id) as run:
        if run is None:
            log.info("run_eval: %s is unknown, finished or held by another task", run_id)
            return
        await _work(runtime, run)


@asynccontextmanager
async def _held(runtime: Runtime, run_id: str) -> AsyncIterator[StoredEvalRun | None]:
    seconds = runtime.settings.job_lease_seconds
    async with runtime.transaction() as session:
        run = await repository.claim(session, run_id, int(time.time()), seconds)
    if run is None:
        yield None
        return
    async with renewed(runtime, lambda: [run_id], repository.renew_all, repository.release_all):
        yield run


@dataclass
class _Context:
    runtime: Runtime
    run: StoredEvalRun
    criteria: list[Criterion]
    source: RunSource
    checker: ItemChecker
    chat: ProjectChat
    grading: Grading
    stopped: asyncio.Event = field(default_factory=asyncio.Event)


async def _work(runtime: Runtime, run: StoredEvalRun) -> None:
    async with runtime.sessions() as session:
        stored_eval = await repository.get_eval(session, run.project_id, run.eval_id)
        caller = await (
            caller_of_key(session, run.key_id) if run.key_id else operator_caller(session, run.project_id)
        )
        done = await repository.done_item_ids(session, run.id)
    if stored_eval is None or caller is None:
        return  # deleted with its eval; the key's project is gone
    source = RunSource(run.data_source)
    rows = await _rows(runtime, run, source)
    if rows is None:
        return
    chat = ProjectChat(runtime, caller, admit=lambda: wait_for_chat(runtime.rate_limiter, caller))
    context = _Context(
        runtime=runtime,
        run=run,
        criteria=criteria_module.parse_stored(stored_eval.testing_criteria),
        source=source,
        checker=ItemChecker(stored_eval.data_source_config["schema"]["properties"]["item"]),
        chat=chat,
        grading=Grading(sandbox=runtime.grader_sandbox, judge=ChatJudge(chat)),
    )
    async with runtime.transaction() as session:
        now = int(time.time())
        await repository.set_status(
            session, run.id, [RunStatus.QUEUED], status=RunStatus.IN_PROGRESS, updated_at=now
        )
    pending = iter([(index, row) for index, row in enumerate(rows) if index not in done])
    async with asyncio.TaskGroup() as workers:
        for _ in range(runtime.settings.eval_run_concurrency):
            workers.create_task(_work_through(context, pending))
    if not context.stopped.is_set():
        async with runtime.transaction() as session:
            if len(await repository.done_item_ids(session, run.id)) == len(rows):
                now = int(time.time())
                await repository.set_status(
                    session, run.id, ACTIVE, status=RunStatus.COMPLETED, updated_at=now
                )


async def _rows(runtime: Runtime, run: StoredEvalRun, source: RunSource) -> list[Row] | None:
    if source.file_id is None:
        return source.inline_rows()
    async with runtime.sessions() as session:
        stored = await files_repository.get(session, run.project_id, source.file_id, int(time.time()))
    if stored is None:
        await _fail(runtime, run.id, "file_not_found", f"The run's file {source.file_id} no longer exists.")
        return None

    def read() -> list[Row]:
        with runtime.blobs.open(stored.blob_key) as file:
            return list(data_sources.read_rows(file))

    return await anyio.to_thread.run_sync(read)


async def _fail(runtime: Runtime, run_id: str, code: str, message: str) -> None:
    async with runtime.transaction() as session:
        await repository.set_status(
            session,
            run_id,
            ACTIVE,
            status=RunStatus.FAILED,
            error={"code": code, "message": message},
            updated_at=int(time.time()),
        )


async def _work_through(context: _Context, pending: Iterator[tuple[int, Row]]) -> None:
    for index, row in pending:
        if context.stopped.is_set():
            return
        try:
            outcome = await _evaluate(context, row)
        except GatewayError as refusal:  # the project's budget is spent: no item can be sampled
            await _fail(
                context.runtime, context.run.id, refusal.code or "insufficient_quota", refusal.message
            )
            context.stopped.set()
            return
        except Exception as error:  # a fault of this item alone; retrying would meet it again
            log.exception("eval run %s: item %d could not be evaluated", context.run.id, index)
            outcome = _errored(
                context, _sample_wire(context.source, [], None, error=("server_error", str(error)))
            )
        if not await _record(context, index, row, outcome):
            context.stopped.set()


@dataclass
class _Outcome:
    sample: dict[str, Any]
    results: list[dict[str, Any]]
    passed: bool
    errored: bool
    usage: dict[str, dict[str, int]]


async def _evaluate(context: _Context, row: Row) -> _Outcome:
    problem = row.problem or context.checker.problem(row.item)
    if problem is not None:
        return _errored(context, _sample_wire(context.source, [], None, error=("invalid_item", problem)))
    usage: dict[str, dict[str, int]] = {}
    if context.source.kind == "completions":
        try:
            messages = context.source.messages(row.item)
            reply = await context.chat.complete(context.source.chat_body(row.item))
        except (MissingVariable, ValueError) as error:
            return _errored(
                context, _sample_wire(context.source, [], None, error=("invalid_item", str(error)))
            )
        except ChatFailed as failure:
            return _errored(
                context, _sample_wire(context.source, messages, None, error=(failure.code, failure.message))
            )
        namespace = sample_namespace(reply.text)
        sample = _sample_wire(context.source, messages, reply)
        _add_usage(usage, reply.model, 1, reply.prompt_tokens, reply.completion_tokens)
    else:
        namespace = _given_sample(row.sample)
        sample = _sample_wire(context.source, [], None, given=row.sample)
    graded = await asyncio.gather(
        *(context.grading.grade(criterion.grader, namespace, row.item) for criterion in context.criteria)
    )
    results = [_result(criterion, result) for criterion, result in zip(context.criteria, graded, strict=True)]
    for result in graded:
        for model, tokens in result.usage_per_model.items():
            _add_usage(usage, model, 1, tokens.get("prompt_tokens", 0), tokens.get("completion_tokens", 0))
    return _Outcome(
        sample=sample,
        results=results,
        passed=all(entry["passed"] for entry in results),
        errored=any(result.errors.any() for result in graded),
        usage=usage,
    )


def _errored(context: _Context, sample: dict[str, Any]) -> _Outcome:
    results = [
        {"name": criterion.id, "type": criterion.grader.type, "score": 0.0, "passed": False, "sample": None}
        for criterion in context.criteria
    ]
    return _Outcome(sample=sample, results=results, passed=False, errored=True, usage={})


def _given_sample(given: dict[str, Any] | None) -> dict[str, Any]:
    """A jsonl row's sample namespace: as given, with `output_json` read from `output_text`."""
    namespace = dict(given or {})
    if isinstance(namespace.get("output_text"), str) and "output_json" not in namespace:
        namespace["output_json"] = sample_namespace(namespace["output_text"])["output_json"]
    return namespace


def _result(criterion: Criterion, result: GradeResult) -> dict[str, Any]:
    return {
        "name": criterion.id,
        "type": criterion.grader.type,
        "score": result.reward,
        "passed": criterion.passed(result),
        "sample": None,
        "metadata": {
            "errors": result.errors.model_dump(),
            "execution_time": result.execution_time,
            "scores": result.scores,
            "sub_rewards": result.sub_rewards,
            "token_usage": result.token_usage,
            "sampled_model_name": result.sampled_model_name,
        },
    }


def _sample_wire(
    source: RunSource,
    messages: list[dict[str, str]],
    reply: Any,
    *,
    error: tuple[str, str] | None = None,
    given: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The output item's `sample`: what the model was asked and answered, with its settings."""
    params = source.echo.get("sampling_params", data_sources.SAMPLING_DEFAULTS)
    output_text = reply.text if reply is not None else (given or {}).get("output_text")
    return {
        "input": messages,
        "output": [{"role": "assistant", "content": output_text}] if isinstance(output_text, str) else [],
        "finish_reason": reply.finish_reason if reply is not None else "",
        "model": reply.model if reply is not None else str((given or {}).get("model") or source.model or ""),
        "usage": {
            "total_tokens": reply.prompt_tokens + reply.completion_tokens if reply else 0,
            "completion_tokens": reply.completion_tokens if reply else 0,
            "prompt_tokens": reply.prompt_tokens if reply else 0,
            "cached_tokens": 0,
        },
        "error": {"code": error[0], "message": error[1]} if error else None,
        "temperature": params["temperature"],
        "max_completion_tokens": reply.max_tokens
        if reply is not None
        else params.get("max_completion_tokens") or 0,
        "top_p": params["top_p"],
        "seed": params["seed"],
    }


def _add_usage(
    usage: dict[str, dict[str, int]], model: str, calls: int, prompt: int, completion: int
) -> None:
    into = usage.setdefault(
        model,
        {
            "invocation_count": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "total_tokens": 0,
            "cached_tokens": 0,
        },
    )
    into["invocation_count"] += calls
    into["prompt_tokens"] += prompt
    into["completion_tokens"] += completion
    into["total_tokens"] += prompt + completion


async def _record(context: _Context, index: int, row: Row, outcome: _Outcome) -> bool:
    """Write the item and the run's totals together; False when the run is no longer active."""
    now = int(time.time())
    async with context.runtime.transaction() as session:
        run = await repository.lock_active_run(session, context.run.id, now)
        if run is None:
            return False
        if not await _insert_once(session, context, index, row, outcome, now):
            return True  # a task before this one wrote it (and counted it) already
        counts = dict(run.result_counts)
        counts["total"] += 1
        counts["errored" if outcome.errored else "passed" if outcome.passed else "failed"] += 1
        run.result_counts = counts
        per_criterion = {label: dict(tally) for label, tally in run.per_criterion.items()}
        for entry in outcome.results:
            tally = per_criterion.setdefault(entry["name"], {"passed": 0, "failed": 0})
            tally["passed" if entry["passed"] else "failed"] += 1
        run.per_criterion = per_criterion
        usage = {model: dict(tokens) for model, tokens in run.per_model_usage.items()}
        for model, tokens in outcome.usage.items():
            _add_usage(
                usage, model, tokens["invocation_count"], tokens["prompt_tokens"], tokens["completion_tokens"]
            )
        run.per_model_usage = usage
    return True


async def _insert_once(
    session: AsyncSession, context: _Context, index: int, row: Row, outcome: _Outcome, now: int
) -> bool:
    values = {
        "id": ids.new_output_item_id(),
        "run_id": context.run.id,
        "eval_id": context.run.eval_id,
        "created_at": now,
        "status": "pass" if outcome.passed else "fail",
        "datasource_item_id": index,
        "datasource_item": row.item,
        "results": storable(outcome.results),
        "sample": storable(outcome.sample),
    }
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(StoredOutputItem)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["run_id", "datasource_item_id"])
    )
    result = await session.execute(statement)
    return result.rowcount == 1
