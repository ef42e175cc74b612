"""SQL for webhook endpoints, their deliveries and the attempts of each delivery."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

# A delivery handed to the queue is left alone by the periodic tick for this long; if its task was
# lost, the tick sends it again afterwards.
DISPATCH_GRACE_MS = 60_000


async def endpoint(session: AsyncSession, endpoint_id: str) -> WebhookEndpoint | None:
    return await session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))


async def endpoints_of(session: AsyncSession, project_id: str) -> list[WebhookEndpoint]:
    query = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.project_id == project_id)
        .order_by(WebhookEndpoint.seq.desc())
    )
    return list((await session.scalars(query)).all())


async def fail_pending(session: AsyncSession, endpoint_id: str) -> None:
    """Give up the deliveries still waiting for a disabled endpoint."""
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == PENDING)
        .values(status=FAILED, next_attempt_at_ms=None)
        .execution_options(synchronize_session=False)
    )


def add_delivery(
    session: AsyncSession, delivery_id: str, endpoint: WebhookEndpoint, payload: dict[str, Any], now_ms: int
) -> None:
    """A pending delivery, counted as already handed to the queue (its first try is dispatched
    after the commit)."""
    session.add(
        WebhookDelivery(
            id=delivery_id,
            endpoint_id=endpoint.id,
            project_id=endpoint.project_id,
            event_type=payload["type"],
            payload=payload,
            created_at=now_ms // 1000,
            status=PENDING,
            attempts=0,
            next_attempt_at_ms=now_ms + DISPATCH_GRACE_MS,
            locked_until=None,
            delivered_at=None,
        )
    )


def _lease_free(now: int) -> Any:
    return or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now)


async def claim(
    session: AsyncSession, delivery_id: str, now: int, lease_seconds: int
) -> tuple[WebhookDelivery, WebhookEndpoint] | None:
    """Take the lease of a pending delivery, so one task at a time sends it; a crashed holder's
    lease runs out. None when it is not pending or another task holds it."""
    delivery = await session.scalar(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == PENDING, _lease_free(now))
        .values(locked_until=now + lease_seconds)
        .returning(WebhookDelivery)
        .execution_options(synchronize_session=False)
    )
    if delivery is None:
        return None
    target = await endpoint(session, delivery.endpoint_id)
    assert target is not None
    return delivery, target


async def record_attempt(
    session: AsyncSession,
    attempt: WebhookAttempt,
    *,
    attempts: int,
    status: str,
    next_attempt_at_ms: int | None,
) -> None:
    """Log an attempt and let go of the delivery. A delivery given up meanwhile (its endpoint
    disabled) keeps its status."""
    session.add(attempt)
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == attempt.delivery_id, WebhookDelivery.status == PENDING)
        .values(
            attempts=attempts,
            status=status,
            next_attempt_at_ms=next_attempt_at_ms,
            locked_until=None,
            delivered_at=attempt.attempted_at if status == DELIVERED else None,
        )
        .execution_options(synchronize_session=False)
    )


async def take_due(session: AsyncSession, now_ms: int, limit: int) -> list[str]:
    """Pending deliveries whose next try is due and that no task holds, pushed DISPATCH_GRACE_MS
    ahead so that the next tick does not send them again while their task waits in the queue."""
    query = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at_ms <= now_ms,
            _lease_free(now_ms // 1000),
        )
        .limit(limit)
    )
    delivery_ids = list((await session.scalars(query)).all())
    if delivery_ids:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(delivery_ids))
            .values(next_attempt_at_ms=now_ms + DISPATCH_GRACE_MS)
            .execution_options(synchronize_session=False)
        )
    return delivery_ids


async def delivery(session: AsyncSession, delivery_id: str) -> WebhookDelivery | None:
    return await session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id))


def deliveries_query(endpoint_id: str) -> Select[Any]:
    return select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)


def delivery_seq_query(endpoint_id: str, delivery_id: str) -> Select[Any]:
    return select(WebhookDelivery.seq).where(
        WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.id == delivery_id
    )


async def attempts_of(session: AsyncSession, delivery_ids: Sequence[str]) -> dict[str, list[WebhookAttempt]]:
    """Each delivery's attempts, oldest first."""
    query = (
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(list(delivery_ids)))
        .order_by(WebhookAttempt.seq)
    )
    by_delivery: dict[str, list[WebhookAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
    for attempt in (await session.scalars(query)).all():
        by_delivery[attempt.delivery_id].append(attempt)
    return by_delivery
