"""The delivery tasks: send a delivery under its lease and log the attempt, and dispatch the
deliveries whose next try is due. At least once: every attempt carries the same `webhook-id`."""

import json
import logging
import math
import random
import time

from gateway.models import WebhookAttempt
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.task_names import DELIVER_WEBHOOK
from gateway.webhooks import repository, sender

log = logging.getLogger(__name__)

# A lease outlasts the longest attempt by this much, so it never runs out under a live sender.
LEASE_MARGIN_SECONDS = 30
# Each wait of the retry schedule is stretched or shrunk by up to this fraction, so that the
# deliveries of one outage do not all come back at once.
JITTER = 0.1
# At most this many deliveries are dispatched per tick; the rest wait for the next one.
DUE_BATCH = 1000


async def deliver(runtime: Runtime, delivery_id: str) -> None:
    settings = runtime.settings
    async with runtime.transaction() as session:
        claimed = await repository.claim(session, delivery_id, int(time.time()), _lease_seconds(settings))
    if claimed is None:
        log.info("deliver: %s is not pending or another task holds it", delivery_id)
        return
    delivery, endpoint = claimed
    body = json.dumps(delivery.payload)
    attempted_at = int(time.time())
    outcome = await sender.send(
        endpoint.url, endpoint.secret, delivery.id, body, settings.webhook_timeout_seconds
    )
    attempts = delivery.attempts + 1
    status, next_attempt_at_ms = _after(outcome.succeeded, attempts, settings.webhook_retry_seconds)
    attempt = WebhookAttempt(
        delivery_id=delivery.id,
        attempted_at=attempted_at,
        succeeded=outcome.succeeded,
        status_code=outcome.status_code,
        error=outcome.error,
        duration_ms=outcome.duration_ms,
    )
    async with runtime.transaction() as session:
        await repository.record_attempt(
            session, attempt, attempts=attempts, status=status, next_attempt_at_ms=next_attempt_at_ms
        )


def _after(succeeded: bool, attempts: int, retry_waits: list[float]) -> tuple[str, int | None]:
    """The delivery's status after its `attempts`-th try, and when to try next."""
    if succeeded:
        return repository.DELIVERED, None
    if attempts > len(retry_waits):
        return repository.FAILED, None
    wait = retry_waits[attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    return repository.PENDING, int((time.time() + wait) * 1000)


def _lease_seconds(settings: Settings) -> int:
    return math.ceil(settings.webhook_timeout_seconds) + LEASE_MARGIN_SECONDS


async def deliver_due(runtime: Runtime, _: str = "") -> None:
    async with runtime.transaction() as session:
        due = await repository.take_due(session, int(time.time() * 1000), DUE_BATCH)
    for delivery_id in due:
        runtime.dispatch(DELIVER_WEBHOOK, delivery_id)
