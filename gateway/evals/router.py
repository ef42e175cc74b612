"""/v1/evals: evals, their runs and the runs' output items, in OpenAI's Evals API shapes."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from gateway.admission import ProjectRoute, body_cap
from gateway.deps import CallerDep, RuntimeDep, SessionDep
from gateway.evals import service
from gateway.evals.schemas import (
    CreateEvalParams,
    CreateRunParams,
    Eval,
    EvalDeleted,
    EvalRun,
    EvalRunDeleted,
    EvalRunOutputItem,
    UpdateEvalParams,
)
from gateway.evals.status import RunStatus
from gateway.openapi import errors
from gateway.pagination import ListPageWithIds

router = APIRouter(prefix="/v1/evals", tags=["evals"], route_class=ProjectRoute)

Limit = Annotated[int, Query(ge=1, le=100)]
Order = Literal["asc", "desc"]


@router.post("")
async def create_eval(params: CreateEvalParams, session: SessionDep, caller: CallerDep) -> Eval:
    return Eval.of(await service.create_eval(session, caller, params))


@router.get("")
async def list_evals(
    session: SessionDep,
    caller: CallerDep,
    after: str | None = None,
    limit: Limit = 20,
    order: Order = "asc",
    order_by: Literal["created_at", "updated_at"] = "created_at",
) -> ListPageWithIds[Eval]:
    rows, has_more = await service.list_evals(
        session,
        caller,
        after=after,
        limit=limit,
        descending=order == "desc",
        by_updated=order_by == "updated_at",
    )
    return ListPageWithIds.of([Eval.of(row) for row in rows], has_more)


@router.get("/{eval_id}", responses=errors(404))
async def retrieve_eval(eval_id: str, session: SessionDep, caller: CallerDep) -> Eval:
    return Eval.of(await service.retrieve_eval(session, caller, eval_id))


@router.post("/{eval_id}", responses=errors(404))
async def update_eval(eval_id: str, params: UpdateEvalParams, session: SessionDep, caller: CallerDep) -> Eval:
    return Eval.of(await service.update_eval(session, caller, eval_id, params))


@router.delete("/{eval_id}", responses=errors(404))
async def delete_eval(eval_id: str, session: SessionDep, caller: CallerDep) -> EvalDeleted:
    await service.delete_eval(session, caller, eval_id)
    return EvalDeleted(deleted=True, eval_id=eval_id)


@router.post("/{eval_id}/runs", responses=errors(404))
@body_cap(lambda settings: settings.max_eval_run_body_bytes)
async def create_run(
    eval_id: str,
    params: CreateRunParams,
    session: SessionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
    request: Request,
) -> EvalRun:
    run = await service.create_run(session, caller, runtime, eval_id, params, str(request.base_url))
    return EvalRun.of(run)


@router.get("/{eval_id}/runs", responses=errors(404))
async def list_runs(
    eval_id: str,
    session: SessionDep,
    caller: CallerDep,
    after: str | None = None,
    limit: Limit = 20,
    order: Order = "asc",
    status: RunStatus | None = None,
) -> ListPageWithIds[EvalRun]:
    runs, has_more = await service.list_runs(
        session, caller, eval_id, after=after, limit=limit, descending=order == "desc", status=status
    )
    return ListPageWithIds.of([EvalRun.of(run) for run in runs], has_more)


@router.get("/{eval_id}/runs/{run_id}", responses=errors(404))
async def retrieve_run(eval_id: str, run_id: str, session: SessionDep, caller: CallerDep) -> EvalRun:
    return EvalRun.of(await service.retrieve_run(session, caller, eval_id, run_id))


@router.post("/{eval_id}/runs/{run_id}", responses=errors(404))
@router.post("/{eval_id}/runs/{run_id}/cancel", responses=errors(404), include_in_schema=False)
async def cancel_run(eval_id: str, run_id: str, session: SessionDep, caller: CallerDep) -> EvalRun:
    """The spec's path, and the `/cancel` the official SDK posts to."""
    return EvalRun.of(await service.cancel_run(session, caller, eval_id, run_id))


@router.delete("/{eval_id}/runs/{run_id}", responses=errors(404))
async def delete_run(eval_id: str, run_id: str, session: SessionDep, caller: CallerDep) -> EvalRunDeleted:
    await service.delete_run(session, caller, eval_id, run_id)
    return EvalRunDeleted(deleted=True, run_id=run_id)


@router.get("/{eval_id}/runs/{run_id}/output_items", responses=errors(404))
async def list_output_items(
    eval_id: str,
    run_id: str,
    session: SessionDep,
    caller: CallerDep,
    after: str | None = None,
    limit: Limit = 20,
    order: Order = "asc",
    status: Literal["pass", "fail"] | None = None,
) -> ListPageWithIds[EvalRunOutputItem]:
    items, has_more = await service.list_items(
        session, caller, eval_id, run_id, after=after, limit=limit, descending=order == "desc", status=status
    )
    return ListPageWithIds.of([EvalRunOutputItem.of(item) for item in items], has_more)


@router.get("/{eval_id}/runs/{run_id}/output_items/{output_item_id}", responses=errors(404))
async def retrieve_output_item(
    eval_id: str, run_id: str, output_item_id: str, session: SessionDep, caller: CallerDep
) -> EvalRunOutputItem:
    return EvalRunOutputItem.of(await service.retrieve_item(session, caller, eval_id, run_id, output_item_id))
