"""Counts every request by its route's template (never the raw path: one series per route, not
per job id) and the status it was answered with, and times it to the end of its response."""

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.observability.metrics import HTTP_IN_PROGRESS, HTTP_LATENCY, HTTP_REQUESTS

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/v1/fine_tuning/jobs/{fine_tuning_job_id}`),
    which routing leaves in the scope; `unmatched` for a path no route has."""
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        HTTP_IN_PROGRESS.inc()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            HTTP_IN_PROGRESS.dec()
            route = route_template(scope)
            method = scope["method"] if scope["method"] in METHODS else "other"
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)
