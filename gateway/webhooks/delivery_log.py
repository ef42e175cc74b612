"""An endpoint's deliveries, newest first, each with its attempts."""

from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import WebhookAttempt, WebhookDelivery
from gateway.pagination import fetch_page, resolve_after
from gateway.webhooks import repository, service


async def page(
    session: AsyncSession, endpoint_id: str, *, after: str | None, limit: int
) -> tuple[list[tuple[WebhookDelivery, list[WebhookAttempt]]], bool]:
    await service.get(session, endpoint_id)
    after_seq = await resolve_after(session, after, partial(repository.delivery_seq_query, endpoint_id))
    deliveries, has_more = await fetch_page(
        session,
        repository.deliveries_query(endpoint_id),
        WebhookDelivery.seq,
        after_seq=after_seq,
        limit=limit,
    )
    attempts = await repository.attempts_of(session, [delivery.id for delivery in deliveries])
    return [(delivery, attempts[delivery.id]) for delivery in deliveries], has_more


async def attempts(session: AsyncSession, delivery: WebhookDelivery) -> list[WebhookAttempt]:
    return (await repository.attempts_of(session, [delivery.id]))[delivery.id]
