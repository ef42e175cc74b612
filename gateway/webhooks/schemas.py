"""Wire shapes of the admin API's webhook endpoints and their delivery log."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from gateway.text import StoredText


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: StoredText = Field(min_length=1)
    event_types: list[StoredText] | None = Field(
        default=None, description="default: every fine_tuning.job.* event"
    )


class AdminWebhookEndpoint(BaseModel):
    object: Literal["admin.webhook_endpoint"] = "admin.webhook_endpoint"
    id: str
    project_id: str
    url: str
    event_types: list[str]
    created_at: int
    disabled_at: int | None
    secret: str | None = Field(
        default=None, description="the signing secret, in the answer that created the endpoint only"
    )

    @classmethod
    def of(cls, endpoint: WebhookEndpoint, *, with_secret: bool = False) -> "AdminWebhookEndpoint":
        return cls(
            id=endpoint.id,
            project_id=endpoint.project_id,
            url=endpoint.url,
            event_types=endpoint.event_types,
            created_at=endpoint.created_at,
            disabled_at=endpoint.disabled_at,
            secret=endpoint.secret if with_secret else None,
        )


class AdminWebhookAttempt(BaseModel):
    object: Literal["admin.webhook_attempt"] = "admin.webhook_attempt"
    attempted_at: int
    succeeded: bool
    status_code: int | None
    error: str | None
    duration_ms: int

    @classmethod
    def of(cls, attempt: WebhookAttempt) -> "AdminWebhookAttempt":
        return cls(
            attempted_at=attempt.attempted_at,
            succeeded=attempt.succeeded,
            status_code=attempt.status_code,
            error=attempt.error,
            duration_ms=attempt.duration_ms,
        )


class AdminWebhookDelivery(BaseModel):
    """One event for one endpoint; `id` is the `webhook-id` header of each of its attempts."""

    object: Literal["admin.webhook_delivery"] = "admin.webhook_delivery"
    id: str
    endpoint_id: str
    event_type: str
    payload: dict[str, Any]
    created_at: int
    status: Literal["pending", "delivered", "failed"]
    delivered_at: int | None
    attempts: list[AdminWebhookAttempt]

    @classmethod
    def of(cls, delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> "AdminWebhookDelivery":
        return cls(
            id=delivery.id,
            endpoint_id=delivery.endpoint_id,
            event_type=delivery.event_type,
            payload=delivery.payload,
            created_at=delivery.created_at,
            status=delivery.status,
            delivered_at=delivery.delivered_at,
            attempts=[AdminWebhookAttempt.of(attempt) for attempt in attempts],
        )
