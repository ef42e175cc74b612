"""Evals, their runs and output items: the rules between the router and the repository."""

import time
from functools import partial
from typing import Any

from sqlalchemy import tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import db, ids
from gateway.budgets import ledger
from gateway.chat import service as chat_service
from gateway.errors import InvalidRequest, NotFound
from gateway.evals import criteria, data_sources, item_schema, repository
from gateway.evals.schemas import CreateEvalParams, CreateRunParams, UpdateEvalParams
from gateway.evals.status import ACTIVE, RunStatus
from gateway.files import repository as files_repository
from gateway.models import StoredEval, StoredEvalRun, StoredOutputItem
from gateway.pagination import fetch_page, resolve_after
from gateway.projects import Caller
from gateway.runtime import Runtime
from gateway.task_names import RUN_EVAL
from graders import uses_judge

# The sample namespace a custom data source promises when it includes one.
SAMPLE_SCHEMA = {
    "type": "object",
    "properties": {
        "model": {"type": "string"},
        "choices": {"type": "array", "items": {"type": "object"}},
        "output_text": {"type": "string"},
        "output_json": {"type": "object"},
        "output_tools": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["model", "choices"],
}


def eval_not_found(eval_id: str) -> NotFound:
    return NotFound(f"Eval with id '{eval_id}' not found.", param="eval_id")


def run_not_found(run_id: str) -> NotFound:
    return NotFound(f"Eval run with id '{run_id}' not found.", param="run_id")


def item_not_found(item_id: str) -> NotFound:
    return NotFound(f"Output item with id '{item_id}' not found.", param="output_item_id")


async def create_eval(session: AsyncSession, caller: Caller, params: CreateEvalParams) -> StoredEval:
    config = _data_source_config(params.data_source_config)
    found = criteria.parse_new(params.testing_criteria, config["schema"]["properties"]["item"])
    now = int(time.time())
    stored = StoredEval(
        id=ids.new_eval_id(),
        project_id=caller.project_id,
        name=params.name or "",
        data_source_config=config,
        testing_criteria=[criterion.echo() for criterion in found],
        user_metadata=params.metadata or {},
        created_at=now,
        updated_at=now,
    )
    session.add(stored)
    await session.flush()
    return stored


def _data_source_config(raw: dict[str, Any]) -> dict[str, Any]:
    param = "data_source_config"
    kind = raw.get("type")
    if kind in ("logs", "stored_completions"):
        raise InvalidRequest(
            f"data_source_config type '{kind}' is not supported: ftgate does not store chat completions. "
            "Use type 'custom' with an item_schema.",
            param=f"{param}.type",
        )
    if kind != "custom":
        raise InvalidRequest(
            f"Invalid value for '{param}.type': {kind!r}. Supported values are: 'custom'.",
            param=f"{param}.type",
        )
    schema = raw.get("item_schema")
    if schema is None:
        raise InvalidRequest(
            f"Missing required parameter: '{param}.item_schema'.", param=f"{param}.item_schema"
        )
    if (problem := item_schema.check(schema)) is not None:
        raise InvalidRequest(problem, param=f"{param}.item_schema")
    include_sample = raw.get("include_sample_schema", False)
    if not isinstance(include_sample, bool):
        raise InvalidRequest(
            f"{param}.include_sample_schema must be a boolean.", param=f"{param}.include_sample_schema"
        )
    properties: dict[str, Any] = {"item": schema}
    if include_sample:
        properties["sample"] = SAMPLE_SCHEMA
    return {
        "type": "custom",
        "schema": {"type": "object", "properties": properties, "required": list(properties)},
    }


async def retrieve_eval(session: AsyncSession, caller: Caller, eval_id: str) -> StoredEval:
    stored = await repository.get_eval(session, caller.project_id, eval_id)
    if stored is None:
        raise eval_not_found(eval_id)
    return stored


async def list_evals(
    session: AsyncSession,
    caller: Caller,
    *,
    after: str | None,
    limit: int,
    descending: bool,
    by_updated: bool,
) -> tuple[list[StoredEval], bool]:
    """Keyset pages in creation order, or by `updated_at` (ties in creation order)."""
    columns = (StoredEval.updated_at, StoredEval.seq) if by_updated else (StoredEval.seq,)
    query = repository.evals_query(caller.project_id)
    if after is not None:
        position = await repository.eval_position(session, caller.project_id, after, columns)
        if position is None:
            raise InvalidRequest(f"No such object for 'after': {after}", param="after")
        past = tuple_(*columns) < tuple_(*position) if descending else tuple_(*columns) > tuple_(*position)
        query = query.where(past)
    ordering = [column.desc() if descending else column.asc() for column in columns]
    rows = list((await session.scalars(query.order_by(*ordering).limit(limit + 1))).all())
    return rows[:limit], len(rows) > limit


async def update_eval(
    session: AsyncSession, caller: Caller, eval_id: str, params: UpdateEvalParams
) -> StoredEval:
    stored = await retrieve_eval(session, caller, eval_id)
    if params.name is not None:
        stored.name = params.name
    if params.metadata is not None:
        stored.user_metadata = params.metadata
    stored.updated_at = int(time.time())
    await session.flush()
    return stored


async def delete_eval(session: AsyncSession, caller: Caller, eval_id: str) -> None:
    """The eval, its runs and their output items; a run under way stops at its next item."""
    await retrieve_eval(session, caller, eval_id)
    await repository.delete_eval(session, eval_id)


async def create_run(
    session: AsyncSession,
    caller: Caller,
    runtime: Runtime,
    eval_id: str,
    params: CreateRunParams,
    base_url: str,
) -> StoredEvalRun:
    stored_eval = await retrieve_eval(session, caller, eval_id)
    schema = stored_eval.data_source_config["schema"]["properties"]["item"]
    source = data_sources.parse(params.data_source, schema)
    if source.model is not None and not await chat_service.serves(runtime, caller, source.model):
        raise InvalidRequest(
            f"The model `{source.model}` does not exist or you do not have access to it.",
            param="data_source.model",
            code="model_not_found",
        )
    if source.file_id is not None and not await _has_file(session, caller, source.file_id):
        raise InvalidRequest(f"No such file: {source.file_id}", param="data_source.source.id")
    graders = criteria.parse_stored(stored_eval.testing_criteria)
    if source.model is not None or any(uses_judge(criterion.grader) for criterion in graders):
        await ledger.require_chat_budget(session, caller)
    now = int(time.time())
    run_id = ids.new_eval_run_id()
    run = StoredEvalRun(
        id=run_id,
        eval_id=eval_id,
        project_id=caller.project_id,
        key_id=caller.key_id,
        name=params.name or source.model or "jsonl",
        model=source.model or "",
        status=RunStatus.QUEUED,
        data_source=source.echo,
        user_metadata=params.metadata or {},
        report_url=f"{base_url.rstrip('/')}/dashboard/evals/{eval_id}?run_id={run_id}",
        created_at=now,
        updated_at=now,
        error=None,
        result_counts={"total": 0, "errored": 0, "failed": 0, "passed": 0},
        per_model_usage={},
        per_criterion={criterion.id: {"passed": 0, "failed": 0} for criterion in graders},
        locked_until=None,
        sent_at=now,
    )
    session.add(run)
    await session.flush()
    db.enqueue(session, RUN_EVAL, run_id)
    return run


async def _has_file(session: AsyncSession, caller: Caller, file_id: str) -> bool:
    return await files_repository.get(session, caller.project_id, file_id, int(time.time())) is not None


async def retrieve_run(session: AsyncSession, caller: Caller, eval_id: str, run_id: str) -> StoredEvalRun:
    run = await repository.get_run(session, caller.project_id, eval_id, run_id)
    if run is None:
        raise run_not_found(run_id)
    return run


async def list_runs(
    session: AsyncSession,
    caller: Caller,
    eval_id: str,
    *,
    after: str | None,
    limit: int,
    descending: bool,
    status: str | None,
) -> tuple[list[StoredEvalRun], bool]:
    await retrieve_eval(session, caller, eval_id)
    after_seq = await resolve_after(session, after, partial(repository.run_seq_query, eval_id))
    query = repository.runs_query(eval_id, status)
    return await fetch_page(
        session, query, StoredEvalRun.seq, after_seq=after_seq, limit=limit, descending=descending
    )


async def cancel_run(session: AsyncSession, caller: Caller, eval_id: str, run_id: str) -> StoredEvalRun:
    """A queued or running run stops at its next item; a finished one is returned as it is."""
    run = await retrieve_run(session, caller, eval_id, run_id)
    now = int(time.time())
    if await repository.set_status(session, run_id, ACTIVE, status=RunStatus.CANCELED, updated_at=now):
        await session.refresh(run)
    return run


async def delete_run(session: AsyncSession, caller: Caller, eval_id: str, run_id: str) -> None:
    await retrieve_run(session, caller, eval_id, run_id)
    await repository.delete_run(session, run_id)


async def list_items(
    session: AsyncSession,
    caller: Caller,
    eval_id: str,
    run_id: str,
    *,
    after: str | None,
    limit: int,
    descending: bool,
    status: str | None,
) -> tuple[list[StoredOutputItem], bool]:
    await retrieve_run(session, caller, eval_id, run_id)
    after_seq = await resolve_after(session, after, partial(repository.item_seq_query, run_id))
    query = repository.items_query(run_id, status)
    return await fetch_page(
        session, query, StoredOutputItem.seq, after_seq=after_seq, limit=limit, descending=descending
    )


async def retrieve_item(
    session: AsyncSession, caller: Caller, eval_id: str, run_id: str, item_id: str
) -> StoredOutputItem:
    await retrieve_run(session, caller, eval_id, run_id)
    item = await repository.get_item(session, run_id, item_id)
    if item is None:
        raise item_not_found(item_id)
    return item
