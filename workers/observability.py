"""What a Celery worker shows its operator: log lines as JSON carrying the task's id and name
and the id of the request that sent it (FTGATE_LOG_FORMAT=json), and the metrics of its pool's
processes on FTGATE_WORKER_METRICS_PORT (the pool's processes share PROMETHEUS_MULTIPROC_DIR,
which the worker empties as it starts)."""

import logging
import os
from typing import Any

from celery import Task, signals
from prometheus_client import start_http_server

from gateway.observability import exposition, logs
from gateway.observability.metrics import CELERY_TASKS
from gateway.settings import Settings

log = logging.getLogger(__name__)

# The message header that carries the id of the request whose transaction sent the task.
REQUEST_ID_HEADER = "ftgate_request_id"


def task_headers() -> dict[str, str]:
    """Headers for a task sent now: the current request's id, when there is one."""
    request_id = logs.request_id.get()
    return {REQUEST_ID_HEADER: request_id} if request_id else {}


def connect(settings: Settings) -> None:
    @signals.worker_init.connect(weak=False)
    def clean_metrics(**_: Any) -> None:
        exposition.clean_multiprocess_dir()

    @signals.worker_ready.connect(weak=False)
    def serve_metrics(**_: Any) -> None:
        if settings.worker_metrics_port is not None:
            start_http_server(settings.worker_metrics_port, registry=exposition.process_registry())
            log.info("metrics served on port %s", settings.worker_metrics_port)

    @signals.worker_process_shutdown.connect(weak=False)
    def forget_process(**_: Any) -> None:
        exposition.mark_process_dead(os.getpid())

    @signals.task_prerun.connect(weak=False)
    def enter_task(task_id: str, task: Task, **_: Any) -> None:
        logs.task.set((task_id, task.name))
        logs.request_id.set(getattr(task.request, REQUEST_ID_HEADER, None))

    @signals.task_postrun.connect(weak=False)
    def leave_task(task: Task, state: str | None = None, **_: Any) -> None:
        CELERY_TASKS.labels(task.name, state or "unknown").inc()
        logs.task.set(None)
        logs.request_id.set(None)

    if settings.log_format == "json":

        @signals.after_setup_logger.connect(weak=False)
        @signals.after_setup_task_logger.connect(weak=False)
        def log_json(logger: logging.Logger, **_: Any) -> None:
            logs.use_json_on(logger.handlers)
