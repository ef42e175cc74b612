"""/healthz (the process answers), /readyz (its database, Redis and blob store answer) and
/metrics (Prometheus' text format). Outside /v1: none of them is part of OpenAI's API."""

import secrets

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from gateway import auth
from gateway.admission import GuardedRoute
from gateway.deps import RuntimeDep
from gateway.errors import AuthenticationFailed, ServerError
from gateway.observability import exposition, readiness
from gateway.observability.schemas import Alive, Readiness
from gateway.openapi import errors

health_router = APIRouter(tags=["operations"], route_class=GuardedRoute)


@health_router.get("/healthz")
async def healthz() -> Alive:
    """The process answers (a liveness probe: nothing else is asked)."""
    return Alive()


@health_router.get("/readyz", response_model=Readiness, responses=errors(503))
async def readyz(runtime: RuntimeDep) -> Readiness | JSONResponse:
    """The database, Redis (where used) and the blob store answer within a short timeout; a 503
    names those that do not, and `checks` says how each one did."""
    checks = await readiness.readiness(runtime)
    failed = [f"{name} {state}" for name, state in checks.items() if state != readiness.OK]
    if not failed:
        return Readiness(checks=checks)
    error = ServerError(f"Not ready: {'; '.join(failed)}.", code="not_ready")
    return JSONResponse({**error.body(), "checks": checks}, status_code=503)


class MetricsRoute(GuardedRoute):
    """/metrics answers anyone unless FTGATE_METRICS_TOKEN is set."""

    async def admit(self, request: Request) -> None:
        token = request.app.state.runtime.settings.metrics_token
        if token is None:
            return
        secret = auth.bearer_secret(request)
        if not secrets.compare_digest(secret.encode(), token.get_secret_value().encode()):
            raise AuthenticationFailed(
                "Incorrect metrics token provided.", code="invalid_api_key", headers=auth.BEARER_CHALLENGE
            )


metrics_router = APIRouter(tags=["operations"], route_class=MetricsRoute)
METRICS_RESPONSE = {
    200: {
        "description": "Prometheus' text exposition format.",
        "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
    }
}


@metrics_router.get("/metrics", response_class=Response, responses={**METRICS_RESPONSE, **errors(401)})
async def metrics(request: Request) -> Response:
    """Prometheus metrics. Open to anyone unless the operator sets FTGATE_METRICS_TOKEN, whose
    value is then the bearer token this asks for."""
    state = await request.app.state.metrics_state.families()
    return Response(exposition.render(state), media_type=CONTENT_TYPE_LATEST)
