"""Check an upstream's webhook (Standard Webhooks signature with the upstream's secret) and ask
for the job it names to be looked at now. The payload is only a hint: the job itself is read
from the upstream, so a replayed or reordered delivery changes nothing."""

import json
import logging
import time

from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from gateway import db
from gateway.errors import InvalidRequest, NotFound
from gateway.fine_tuning import repository, scheduling
from gateway.runtime import Runtime
from gateway.task_names import SYNC_UPSTREAM_JOB

log = logging.getLogger(__name__)

JOB_EVENT_PREFIX = "fine_tuning.job."


def verified_payload(runtime: Runtime, upstream: str, body: bytes, headers: dict[str, str]) -> dict:
    spec = next((spec for spec in runtime.settings.upstreams if spec.name == upstream), None)
    if spec is None or spec.webhook_secret is None:
        raise NotFound(f"No webhooks are expected from an upstream named '{upstream}'.")
    try:
        payload = Webhook(spec.webhook_secret.get_secret_value()).verify(body, headers)
    except (WebhookVerificationError, json.JSONDecodeError) as error:
        raise InvalidRequest(f"Webhook rejected: {error}") from error
    if not isinstance(payload, dict):
        raise InvalidRequest("Webhook rejected: the payload is not a JSON object.")
    return payload


async def take(session: AsyncSession, upstream: str, payload: dict) -> None:
    event_type = str(payload.get("type", ""))
    data = payload.get("data")
    upstream_id = data.get("id") if isinstance(data, dict) else None
    if not event_type.startswith(JOB_EVENT_PREFIX) or not isinstance(upstream_id, str):
        log.info("webhook %s from %s: nothing to do", event_type, upstream)
        return
    job = await repository.by_upstream_id(session, upstream, upstream_id)
    if job is None:
        log.info("webhook %s from %s names a job ftgate does not know: %s", event_type, upstream, upstream_id)
        return
    await scheduling.look_at(session, job.id, int(time.time() * 1000))
    db.enqueue(session, SYNC_UPSTREAM_JOB, job.id)
