"""/admin: projects, keys, their limits, usage, the audit log and the import of an OpenAI
organisation's fine-tuning history, for the operator's key."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from gateway.admin import service
from gateway.admin.auth import AdminDep
from gateway.admin.schemas import AdminApiKey, AdminAuditEntry, AdminProject, KeyCreate, ProjectCreate
from gateway.admission import AdminRoute
from gateway.budgets import usage
from gateway.budgets.limits import Limits
from gateway.budgets.usage import UsageRow
from gateway.deps import RuntimeDep, SessionDep
from gateway.errors import BadGateway, InvalidRequest
from gateway.openai_import import service as openai_import
from gateway.openai_import.client import OpenAIHistory
from gateway.openai_import.schemas import ImportRequest, ImportResult
from gateway.openai_import.source import import_spec
from gateway.openapi import errors
from gateway.pagination import ListPage
from gateway.providers.base import UpstreamError

router = APIRouter(prefix="/admin", tags=["admin"], route_class=AdminRoute)

# What the databases' BIGINT columns compare against: a 64-bit integer.
UnixTime = Annotated[int, Query(ge=-(2**63), le=2**63 - 1)]


@router.post("/projects")
async def create_project(body: ProjectCreate, session: SessionDep, actor: AdminDep) -> AdminProject:
    return await AdminProject.of(
        session, await service.create_project(session, actor, body.name, body.limits)
    )


@router.get("/projects")
async def list_projects(session: SessionDep, _: AdminDep) -> ListPage[AdminProject]:
    return ListPage(
        data=[await AdminProject.of(session, p) for p in await service.list_projects(session)], has_more=False
    )


@router.get("/projects/{project_id}", responses=errors(404))
async def retrieve_project(project_id: str, session: SessionDep, _: AdminDep) -> AdminProject:
    return await AdminProject.of(session, await service.get_project(session, project_id))


@router.put("/projects/{project_id}/limits", responses=errors(404))
async def set_project_limits(
    project_id: str, limits: Limits, session: SessionDep, actor: AdminDep
) -> AdminProject:
    return await AdminProject.of(
        session, await service.set_project_limits(session, actor, project_id, limits)
    )


@router.post("/projects/{project_id}/openai_import", responses=errors(400, 404, 502))
async def import_openai_history(
    project_id: str, body: ImportRequest, runtime: RuntimeDep, actor: AdminDep
) -> ImportResult:
    """What `ftgate openai import` does, from a configured upstream; it answers once done."""
    async with runtime.sessions() as session:
        project = await service.get_project(session, project_id)
    if body.training_files is not None and not body.training_files.is_dir():
        raise InvalidRequest(f"{body.training_files} is not a folder on the server.", param="training_files")
    spec = import_spec(runtime.settings, upstream=body.upstream, api_key=None, base_url=body.base_url)
    history = OpenAIHistory(spec)
    try:
        report = await openai_import.import_history(
            runtime,
            history,
            project.id,
            project.name,
            provider=spec.name,
            training_files=body.training_files,
            actor=actor,
        )
    except UpstreamError as error:
        refused = f"The upstream did not give its history: {error.message}"
        raise (
            BadGateway(refused) if error.retryable else InvalidRequest(refused, param="upstream")
        ) from None
    finally:
        await history.close()
    return ImportResult.of(report)


@router.post("/projects/{project_id}/keys", responses=errors(404))
async def create_key(project_id: str, body: KeyCreate, session: SessionDep, actor: AdminDep) -> AdminApiKey:
    key, secret = await service.create_key(session, actor, project_id, body.name, body.limits)
    return await AdminApiKey.of(session, key, secret)


@router.get("/projects/{project_id}/keys", responses=errors(404))
async def list_keys(project_id: str, session: SessionDep, _: AdminDep) -> ListPage[AdminApiKey]:
    keys = await service.list_keys(session, project_id)
    return ListPage(data=[await AdminApiKey.of(session, key) for key in keys], has_more=False)


@router.get("/keys/{key_id}", responses=errors(404))
async def retrieve_key(key_id: str, session: SessionDep, _: AdminDep) -> AdminApiKey:
    return await AdminApiKey.of(session, await service.get_key(session, key_id))


@router.put("/keys/{key_id}/limits", responses=errors(404))
async def set_key_limits(key_id: str, limits: Limits, session: SessionDep, actor: AdminDep) -> AdminApiKey:
    return await AdminApiKey.of(session, await service.set_key_limits(session, actor, key_id, limits))


@router.post("/keys/{key_id}/revoke", responses=errors(404))
async def revoke_key(key_id: str, session: SessionDep, actor: AdminDep) -> AdminApiKey:
    return await AdminApiKey.of(session, await service.revoke_key(session, actor, key_id))


@router.get("/usage", response_model=ListPage[UsageRow], responses={200: {"content": {"text/csv": {}}}})
async def usage_report(
    session: SessionDep,
    _: AdminDep,
    group_by: str = "project,key,model,day",
    project_id: str | None = None,
    start_time: UnixTime | None = None,
    end_time: UnixTime | None = None,
    format: Literal["json", "csv"] = "json",
) -> ListPage[UsageRow] | Response:
    """Totals per the groups named in `group_by` (any of project, key, model, day) between
    `start_time` (included) and `end_time` (excluded), Unix seconds."""
    groups = usage.parse_groups(group_by)
    rows = await usage.report(session, groups, project_id=project_id, start=start_time, end=end_time)
    if format == "csv":
        return Response(usage.as_csv(rows), media_type="text/csv")
    return ListPage(data=rows, has_more=False)


@router.get("/audit_log")
async def audit_log(
    session: SessionDep,
    _: AdminDep,
    project_id: str | None = None,
    actor: Annotated[str | None, Query(description="`admin`, `system` or a key id")] = None,
    action: Annotated[str | None, Query(description="e.g. `key.created`")] = None,
    start_time: UnixTime | None = None,
    end_time: UnixTime | None = None,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ListPage[AdminAuditEntry]:
    """Newest first; entries created between `start_time` (included) and `end_time` (excluded),
    Unix seconds."""
    where = service.AuditFilter(project_id, actor, action, start_time, end_time)
    entries, has_more = await service.audit_log(session, where, after, limit)
    return ListPage(data=[AdminAuditEntry.of(entry) for entry in entries], has_more=has_more)
