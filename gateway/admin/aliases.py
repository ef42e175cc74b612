"""/admin: a project's model aliases, for the operator's key."""

import time

from fastapi import APIRouter

from gateway.admin.auth import AdminDep
from gateway.admission import AdminRoute
from gateway.aliases import service
from gateway.aliases.schemas import AdminModelAlias, AdminModelAliasDeleted, AliasPut
from gateway.deps import RuntimeDep, SessionDep
from gateway.openapi import errors
from gateway.pagination import ListPage

router = APIRouter(prefix="/admin/projects/{project_id}/aliases", tags=["admin"], route_class=AdminRoute)


@router.get("", responses=errors(404))
async def list_aliases(project_id: str, session: SessionDep, _: AdminDep) -> ListPage[AdminModelAlias]:
    aliases = await service.list_aliases(session, project_id)
    now = int(time.time())
    return ListPage(data=[AdminModelAlias.of(alias, now) for alias in aliases], has_more=False)


@router.put("/{alias:path}", responses=errors(404))
async def put_alias(
    project_id: str, alias: str, body: AliasPut, session: SessionDep, runtime: RuntimeDep, actor: AdminDep
) -> AdminModelAlias:
    """Create the alias, or replace its replacement and `active_from`."""
    stored = await service.put(session, runtime, actor, project_id, alias, body.replacement, body.active_from)
    return AdminModelAlias.of(stored, int(time.time()))


@router.get("/{alias:path}", responses=errors(404))
async def retrieve_alias(project_id: str, alias: str, session: SessionDep, _: AdminDep) -> AdminModelAlias:
    return AdminModelAlias.of(await service.get(session, project_id, alias), int(time.time()))


@router.delete("/{alias:path}", responses=errors(404))
async def delete_alias(
    project_id: str, alias: str, session: SessionDep, actor: AdminDep
) -> AdminModelAliasDeleted:
    await service.delete(session, actor, project_id, alias)
    return AdminModelAliasDeleted(id=alias, deleted=True)
