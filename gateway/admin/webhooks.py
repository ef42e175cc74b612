"""/admin: a project's webhook endpoints and each endpoint's delivery log (a failed delivery
may be retried), for the operator's key."""

from typing import Annotated

from fastapi import APIRouter, Query

from gateway.admin.auth import AdminDep
from gateway.admission import AdminRoute
from gateway.deps import SessionDep
from gateway.openapi import errors
from gateway.pagination import ListPage
from gateway.webhooks import delivery_log, service
from gateway.webhooks.schemas import AdminWebhookDelivery, AdminWebhookEndpoint, EndpointCreate

router = APIRouter(prefix="/admin", tags=["admin"], route_class=AdminRoute)

Limit = Annotated[int, Query(ge=1, le=100)]


@router.post("/projects/{project_id}/webhooks", responses=errors(404))
async def create_endpoint(
    project_id: str, body: EndpointCreate, session: SessionDep, actor: AdminDep
) -> AdminWebhookEndpoint:
    endpoint = await service.create(session, actor, project_id, body.url, body.event_types)
    return AdminWebhookEndpoint.of(endpoint, with_secret=True)


@router.get("/projects/{project_id}/webhooks", responses=errors(404))
async def list_endpoints(project_id: str, session: SessionDep, _: AdminDep) -> ListPage[AdminWebhookEndpoint]:
    found = await service.list_for_project(session, project_id)
    return ListPage(data=[AdminWebhookEndpoint.of(endpoint) for endpoint in found], has_more=False)


@router.delete("/webhooks/{endpoint_id}", responses=errors(404))
async def disable_endpoint(endpoint_id: str, session: SessionDep, actor: AdminDep) -> AdminWebhookEndpoint:
    return AdminWebhookEndpoint.of(await service.disable(session, actor, endpoint_id))


@router.get("/webhooks/{endpoint_id}/deliveries", responses=errors(404))
async def list_deliveries(
    endpoint_id: str, session: SessionDep, _: AdminDep, after: str | None = None, limit: Limit = 20
) -> ListPage[AdminWebhookDelivery]:
    deliveries, has_more = await delivery_log.page(session, endpoint_id, after=after, limit=limit)
    return ListPage(
        data=[AdminWebhookDelivery.of(delivery, attempts) for delivery, attempts in deliveries],
        has_more=has_more,
    )


@router.post("/webhook_deliveries/{delivery_id}/retry", responses=errors(400, 404))
async def retry_delivery(delivery_id: str, session: SessionDep, actor: AdminDep) -> AdminWebhookDelivery:
    """Send a failed delivery again at once, its retry schedule started over."""
    delivery = await service.retry(session, actor, delivery_id)
    return AdminWebhookDelivery.of(delivery, await delivery_log.attempts(session, delivery))
