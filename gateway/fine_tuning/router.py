"""/v1/fine_tuning/jobs: create, list, retrieve, cancel, pause, resume, events, checkpoints."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from gateway.admission import ProjectRoute
from gateway.deps import CallerDep, ReadSessionDep, RuntimeDep, SessionDep
from gateway.errors import InvalidRequest
from gateway.fine_tuning import service
from gateway.fine_tuning.params import JobCreateParams
from gateway.fine_tuning.schemas import FineTuningJob, FineTuningJobCheckpoint, FineTuningJobEvent
from gateway.openapi import errors
from gateway.pagination import ListPage, ListPageWithIds
from gateway.shown import shown

router = APIRouter(prefix="/v1/fine_tuning/jobs", tags=["fine-tuning"], route_class=ProjectRoute)

Limit = Annotated[int, Query(ge=1, le=1000)]


@router.post("", responses=errors(503))
async def create(
    params: JobCreateParams, session: SessionDep, caller: CallerDep, runtime: RuntimeDep
) -> FineTuningJob:
    job = await service.create(session, caller, runtime, params)
    return FineTuningJob.of(job)


@router.get("", response_model=ListPage[FineTuningJob])
async def list_jobs(
    request: Request, session: ReadSessionDep, caller: CallerDep, after: str | None = None, limit: Limit = 20
) -> Response:
    metadata, without_metadata = _metadata_filter(request)
    jobs, has_more = await service.list_jobs(
        session, caller, after=after, limit=limit, metadata=metadata, without_metadata=without_metadata
    )
    return shown(ListPage(data=[FineTuningJob.of(job) for job in jobs], has_more=has_more))


def _metadata_filter(request: Request) -> tuple[dict[str, str], bool]:
    """`metadata[k]=v` pairs (deepObject style), or `metadata=null` for jobs without metadata."""
    pairs = {
        name[len("metadata[") : -1]: value
        for name, value in request.query_params.items()
        if name.startswith("metadata[") and name.endswith("]")
    }
    without = request.query_params.get("metadata")
    if without not in (None, "null"):
        raise InvalidRequest(
            "Use metadata[key]=value to filter by metadata, or metadata=null.", param="metadata"
        )
    return pairs, without == "null"


@router.get("/{fine_tuning_job_id}", response_model=FineTuningJob, responses=errors(404))
async def retrieve(fine_tuning_job_id: str, session: ReadSessionDep, caller: CallerDep) -> Response:
    return shown(FineTuningJob.of(await service.show(session, caller, fine_tuning_job_id)))


@router.post("/{fine_tuning_job_id}/cancel", responses=errors(404))
async def cancel(
    fine_tuning_job_id: str, session: SessionDep, caller: CallerDep, runtime: RuntimeDep
) -> FineTuningJob:
    return FineTuningJob.of(
        await service.apply_action(session, caller, runtime, fine_tuning_job_id, "cancel")
    )


@router.post("/{fine_tuning_job_id}/pause", responses=errors(404))
async def pause(
    fine_tuning_job_id: str, session: SessionDep, caller: CallerDep, runtime: RuntimeDep
) -> FineTuningJob:
    job = await service.apply_action(session, caller, runtime, fine_tuning_job_id, "pause")
    return FineTuningJob.of(job)


@router.post("/{fine_tuning_job_id}/resume", responses=errors(404))
async def resume(
    fine_tuning_job_id: str, session: SessionDep, caller: CallerDep, runtime: RuntimeDep
) -> FineTuningJob:
    return FineTuningJob.of(
        await service.apply_action(session, caller, runtime, fine_tuning_job_id, "resume")
    )


@router.get(
    "/{fine_tuning_job_id}/events", response_model=ListPage[FineTuningJobEvent], responses=errors(404)
)
async def list_events(
    fine_tuning_job_id: str,
    session: ReadSessionDep,
    caller: CallerDep,
    after: str | None = None,
    limit: Limit = 20,
) -> Response:
    rows, has_more = await service.list_events(session, caller, fine_tuning_job_id, after=after, limit=limit)
    return shown(ListPage(data=[FineTuningJobEvent.of(row) for row in rows], has_more=has_more))


@router.get(
    "/{fine_tuning_job_id}/checkpoints",
    response_model=ListPageWithIds[FineTuningJobCheckpoint],
    responses=errors(404),
)
async def list_checkpoints(
    fine_tuning_job_id: str,
    session: ReadSessionDep,
    caller: CallerDep,
    after: str | None = None,
    limit: Limit = 10,
) -> Response:
    rows, has_more = await service.list_checkpoints(
        session, caller, fine_tuning_job_id, after=after, limit=limit
    )
    return shown(ListPageWithIds.of([FineTuningJobCheckpoint.of(row) for row in rows], has_more))
