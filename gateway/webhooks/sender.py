"""One attempt at a delivery: the body signed per Standard Webhooks and POSTed once."""

import asyncio
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import httpx
from standardwebhooks.webhooks import Webhook

MAX_ERROR_CHARS = 1024


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status_code: int | None
    error: str | None
    duration_ms: int


@cache
def _tls() -> ssl.SSLContext:
    """Loading the CA bundle is most of what making a client costs; do it once."""
    return httpx.create_ssl_context()


def signed_headers(secret: str, message_id: str, body: str, sent_at: datetime) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
    }


async def send(url: str, secret: str, message_id: str, body: str, timeout_seconds: float) -> Outcome:
    """2xx succeeds; any other answer (redirects are not followed), a transport error or no
    answer within `timeout_seconds` in all fails."""
    headers = signed_headers(secret, message_id, body, datetime.now(UTC))
    started = time.monotonic()
    status_code: int | None = None
    error: str | None = None
    try:
        async with (
            asyncio.timeout(timeout_seconds),
            httpx.AsyncClient(timeout=timeout_seconds, verify=_tls(), follow_redirects=False) as client,
            client.stream("POST", url, content=body.encode(), headers=headers) as response,
        ):
            status_code = response.status_code
    except (TimeoutError, httpx.TimeoutException):
        error = f"No answer within {timeout_seconds:g} s."
    except (httpx.HTTPError, httpx.InvalidURL) as failure:
        error = f"{type(failure).__name__}: {failure}".removesuffix(": ")[:MAX_ERROR_CHARS]
    if status_code is not None and 300 <= status_code < 400:
        error = "Redirects are not followed: answer 2xx from the endpoint's own URL."
    duration_ms = round((time.monotonic() - started) * 1000)
    succeeded = status_code is not None and 200 <= status_code < 300
    return Outcome(succeeded, status_code, error, duration_ms)
