"""A project's webhook endpoints: created with a signing secret shown once, listed, disabled."""

import base64
import secrets
import time

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit, db, ids
from gateway.errors import InvalidRequest, NotFound
from gateway.models import Project, WebhookDelivery, WebhookEndpoint
from gateway.task_names import DELIVER_WEBHOOK
from gateway.webhooks import events, repository

MAX_URL_CHARS = 2048
CREATED, DISABLED, RETRIED = "webhook.created", "webhook.disabled", "webhook.delivery_retried"


def new_endpoint_id() -> str:
    return "whep_" + ids.random_base62(24)


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


async def create(
    session: AsyncSession, actor: str, project_id: str, url: str, event_types: list[str] | None
) -> WebhookEndpoint:
    await _require_project(session, project_id)
    endpoint = WebhookEndpoint(
        id=new_endpoint_id(),
        project_id=project_id,
        url=_checked_url(url),
        secret=new_secret(),
        event_types=_checked_event_types(event_types),
        created_at=int(time.time()),
        disabled_at=None,
    )
    session.add(endpoint)
    audit.record(
        session,
        actor,
        CREATED,
        project_id=project_id,
        object_id=endpoint.id,
        details={"url": endpoint.url, "event_types": endpoint.event_types},
    )
    return endpoint


async def list_for_project(session: AsyncSession, project_id: str) -> list[WebhookEndpoint]:
    await _require_project(session, project_id)
    return await repository.endpoints_of(session, project_id)


async def get(session: AsyncSession, endpoint_id: str) -> WebhookEndpoint:
    endpoint = await repository.endpoint(session, endpoint_id)
    if endpoint is None:
        raise NotFound(f"No such webhook endpoint: {endpoint_id}", param="endpoint_id")
    return endpoint


async def disable(session: AsyncSession, actor: str, endpoint_id: str) -> WebhookEndpoint:
    """Stop sending to the endpoint, its pending deliveries included. Disabling it again
    changes nothing."""
    endpoint = await get(session, endpoint_id)
    if endpoint.disabled_at is not None:
        return endpoint
    endpoint.disabled_at = int(time.time())
    await repository.fail_pending(session, endpoint.id)
    audit.record(session, actor, DISABLED, project_id=endpoint.project_id, object_id=endpoint.id)
    return endpoint


async def retry(session: AsyncSession, actor: str, delivery_id: str) -> WebhookDelivery:
    """Send a failed delivery again at once, under the same `webhook-id`, with its retry schedule
    started over; its earlier attempts stay in the log."""
    delivery = await repository.delivery(session, delivery_id)
    if delivery is None:
        raise NotFound(f"No such webhook delivery: {delivery_id}", param="delivery_id")
    if delivery.status != repository.FAILED:
        raise InvalidRequest(
            f"Only a failed delivery can be retried; {delivery_id} is {delivery.status}.", param="delivery_id"
        )
    endpoint = await get(session, delivery.endpoint_id)
    if endpoint.disabled_at is not None:
        raise InvalidRequest(
            f"The endpoint {endpoint.id} is disabled: its deliveries are not sent.", param="delivery_id"
        )
    delivery.status = repository.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at_ms = int(time.time() * 1000) + repository.DISPATCH_GRACE_MS
    delivery.locked_until = None
    db.enqueue(session, DELIVER_WEBHOOK, delivery.id)
    audit.record(session, actor, RETRIED, project_id=delivery.project_id, object_id=delivery.id)
    return delivery


async def _require_project(session: AsyncSession, project_id: str) -> None:
    if await session.get(Project, project_id) is None:
        raise NotFound(f"No such project: {project_id}", param="project_id")


def _checked_url(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if (
        parsed is None
        or parsed.scheme not in ("http", "https")
        or not parsed.host
        or any(char.isspace() for char in url)
        or len(url) > MAX_URL_CHARS
    ):
        raise InvalidRequest(
            f"The webhook URL must be an http:// or https:// URL of at most {MAX_URL_CHARS} characters.",
            param="url",
            code="invalid_url",
        )
    return url


def _checked_event_types(event_types: list[str] | None) -> list[str]:
    if event_types is None:
        return list(events.EVENT_TYPES)
    choices = ", ".join(events.EVENT_TYPES)
    if not event_types:
        raise InvalidRequest(f"Subscribe to at least one of {choices}.", param="event_types")
    for name in event_types:
        if name not in events.EVENT_TYPES:
            raise InvalidRequest(f"Unknown event type '{name}': choose from {choices}.", param="event_types")
    return list(dict.fromkeys(event_types))
