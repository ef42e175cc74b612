"""Queue a job's `fine_tuning.job.*` event for the project's endpoints in the transaction that
finishes the job: the event goes out if and only if that change commits."""

import time

from sqlalchemy.ext.asyncio import AsyncSession

from gateway import db, ids
from gateway.task_names import DELIVER_WEBHOOK
from gateway.webhooks import events, repository


def new_delivery_id() -> str:
    """The `webhook-id` of every attempt of one delivery, so receivers can drop repeats."""
    return "wh_" + ids.random_base62(24)


async def queue_job_event(session: AsyncSession, project_id: str, job_id: str, status: str) -> None:
    event_type = events.job_event_type(status)
    if event_type is None:
        return
    subscribed = [
        endpoint
        for endpoint in await repository.endpoints_of(session, project_id)
        if endpoint.disabled_at is None and event_type in endpoint.event_types
    ]
    if not subscribed:
        return
    now_ms = int(time.time() * 1000)
    payload = events.job_event(event_type, job_id, now_ms // 1000)
    for endpoint in subscribed:
        delivery_id = new_delivery_id()
        repository.add_delivery(session, delivery_id, endpoint, payload, now_ms)
        db.enqueue(session, DELIVER_WEBHOOK, delivery_id)
