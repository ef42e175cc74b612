"""POST /webhooks/upstreams/{upstream}: where an upstream (OpenAI's project webhooks, say)
delivers `fine_tuning.job.*` events. Outside /v1: it is not part of OpenAI's API."""

from fastapi import APIRouter, Request

from gateway.admission import GuardedRoute
from gateway.deps import RuntimeDep, SessionDep
from gateway.openapi import errors
from gateway.webhook_intake import service

router = APIRouter(prefix="/webhooks/upstreams", tags=["webhooks"], route_class=GuardedRoute)

# The route verifies the raw bytes' signature before it parses them, so it reads the body itself.
WEBHOOK_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "description": "A signed event."}}},
    }
}


@router.post("/{upstream}", status_code=204, responses=errors(404), openapi_extra=WEBHOOK_BODY)
async def receive(upstream: str, request: Request, runtime: RuntimeDep, session: SessionDep) -> None:
    payload = service.verified_payload(runtime, upstream, await request.body(), dict(request.headers))
    await service.take(session, upstream, payload)
