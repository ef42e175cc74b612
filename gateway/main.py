"""The composition root: settings in, a served FastAPI app out, with the queue they ask for.

`uvicorn --factory gateway.main:build_app` serves it; `ftgate serve` does the same.
"""

from fastapi import FastAPI

from gateway.app import create_app
from gateway.observability import logs
from gateway.runtime import build_runtime
from gateway.settings import Settings, get_settings


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if settings.log_format == "json":
        logs.configure(settings.log_format)
    if settings.queue == "celery":
        from workers.celery_app import dispatcher, make_celery

        return create_app(build_runtime(settings, dispatcher(make_celery(settings))))

    from workers.inprocess import InProcessRunner

    runner = InProcessRunner(
        settings.reconcile_interval_seconds,
        settings.upstream_poll_tick_seconds,
        settings.webhook_tick_seconds,
    )
    runtime = build_runtime(settings, runner.dispatch)
    app = create_app(runtime, on_start=lambda: runner.start(runtime), on_stop=runner.stop)
    app.state.runner = runner
    return app
