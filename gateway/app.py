"""create_app(): routers, error handlers, lifespan. No logic."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from gateway import error_handlers, openapi
from gateway.admin.aliases import router as admin_aliases_router
from gateway.admin.router import router as admin_router
from gateway.admin.webhooks import router as admin_webhooks_router
from gateway.capture.router import router as capture_router
from gateway.chat.router import router as chat_router
from gateway.dashboard.router import router as dashboard_router
from gateway.evals.router import router as evals_router
from gateway.files.router import router as files_router
from gateway.files.upload import UPLOAD_ENCODING, UPLOAD_TOKEN_LIMIT
from gateway.fine_tuning.hot_reads import READS as FINE_TUNING_HOT_READS
from gateway.fine_tuning.router import router as fine_tuning_router
from gateway.graders.router import router as graders_router
from gateway.home.router import router as home_router
from gateway.hot_reads.lane import HotReadsMiddleware
from gateway.models_api.base_models import router as base_models_router
from gateway.models_api.router import router as models_router
from gateway.observability.http_metrics import HttpMetricsMiddleware
from gateway.observability.router import health_router, metrics_router
from gateway.observability.state import StateReader
from gateway.replacement.router import router as replacement_router
from gateway.request_context import RequestContextMiddleware
from gateway.runtime import Runtime
from gateway.uploads.router import router as uploads_router
from gateway.url_checks import reject_nul
from gateway.webhook_intake.router import router as webhook_intake_router

Lifecycle = Callable[[], Awaitable[None]]


def create_app(
    runtime: Runtime, on_start: Lifecycle | None = None, on_stop: Lifecycle | None = None
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Validator children load their vocabulary before the first request, not during it.
        await runtime.validators.warm(UPLOAD_ENCODING, UPLOAD_TOKEN_LIMIT)
        if on_start is not None:
            await on_start()
        try:
            yield
        finally:
            if on_stop is not None:
                await on_stop()
            await runtime.close()

    app = FastAPI(title="ftgate", version="0.1.0", lifespan=lifespan, dependencies=[Depends(reject_nul)])
    app.state.runtime = runtime
    # Innermost: the lane's answers carry request ids and are counted like the routes'.
    app.add_middleware(HotReadsMiddleware, reads=FINE_TUNING_HOT_READS)
    app.add_middleware(RequestContextMiddleware)
    if runtime.settings.metrics_enabled:
        # Outermost: it counts the 500s that RequestContextMiddleware answers too.
        app.add_middleware(HttpMetricsMiddleware)
        app.state.metrics_state = StateReader(runtime)
        app.include_router(metrics_router)
    error_handlers.install(app)
    for router in (
        files_router,
        uploads_router,
        fine_tuning_router,
        graders_router,
        evals_router,
        models_router,
        base_models_router,
        chat_router,
        dashboard_router,
        webhook_intake_router,
        admin_router,
        admin_webhooks_router,
        capture_router,
        admin_aliases_router,
        replacement_router,
        home_router,
        health_router,
    ):
        app.include_router(router)
    openapi.install(app)
    return app
