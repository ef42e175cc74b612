"""The Celery app: the task set of workers/tasks.py on Redis, acknowledged only when done.

Run with `celery -A workers.celery_app worker` (add `-B`, or run `celery -A workers.celery_app
beat` once, for the periodic reconciler).
"""

import asyncio
import contextvars
import logging
from collections.abc import Callable

from celery import Celery

from gateway.db import Dispatch
from gateway.runtime import Runtime, build_runtime
from gateway.settings import Settings, get_settings
from gateway.task_names import DELIVER_DUE_WEBHOOKS, POLL_UPSTREAMS, RECONCILE, TRAIN_JOB
from workers import observability
from workers.tasks import TASKS, Task

log = logging.getLogger(__name__)


def make_celery(settings: Settings) -> Celery:
    celery = Celery("ftgate", broker=settings.redis_url)
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=settings.celery_queue,
        task_routes={TRAIN_JOB: {"queue": settings.celery_training_queue}},
        broker_connection_retry_on_startup=True,
        beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
        broker_transport_options={"visibility_timeout": 3600, "global_keyprefix": settings.redis_key_prefix},
        beat_schedule={
            "reconcile": {"task": RECONCILE, "schedule": settings.reconcile_interval_seconds, "args": [""]},
            "poll-upstreams": {
                "task": POLL_UPSTREAMS,
                "schedule": settings.upstream_poll_tick_seconds,
                "args": [""],
                # A tick that waited longer than the next one is worth nothing.
                "options": {"expires": settings.upstream_poll_tick_seconds * 4},
            },
            "deliver-due-webhooks": {
                "task": DELIVER_DUE_WEBHOOKS,
                "schedule": settings.webhook_tick_seconds,
                "args": [""],
                "options": {"expires": settings.webhook_tick_seconds * 4},
            },
        },
    )
    return celery


def dispatcher(celery: Celery) -> Dispatch:
    def dispatch(task_name: str, object_id: str) -> None:
        """Send a task; if the broker is unreachable the reconciler sends it again later."""
        try:
            celery.send_task(task_name, args=[object_id], headers=observability.task_headers())
        except Exception:
            log.exception("could not send %s(%s); the reconciler will retry", task_name, object_id)

    return dispatch


app = make_celery(get_settings())
observability.connect(get_settings())


class _WorkerProcess:
    """One event loop and one runtime per worker process, made after the fork."""

    runner: asyncio.Runner | None = None
    runtime: Runtime | None = None

    @classmethod
    def run(cls, task: Task, object_id: str) -> None:
        if cls.runner is None:
            cls.runner = asyncio.Runner()
            cls.runtime = build_runtime(get_settings(), dispatcher(app))
        assert cls.runtime is not None
        # In the thread's context as it is now, where the prerun signal put the task's log ids (the
        # runner's own context was copied when it first ran).
        cls.runner.run(task(cls.runtime, object_id), context=contextvars.copy_context())


def _register(name: str, task: Task) -> Callable[[str], None]:
    def run(object_id: str) -> None:
        _WorkerProcess.run(task, object_id)

    run.__name__ = name.replace(".", "_")
    return app.task(name=name)(run)


for _name, _task in TASKS.items():
    _register(_name, _task)
