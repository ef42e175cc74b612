"""Which upstream failures are worth another try, and when: OpenAI's SDK rules (408, 409, 429,
5xx and broken connections; `x-should-retry`; `retry-after-ms` / `retry-after`, seconds or an
HTTP date; otherwise exponential backoff with jitter)."""

import random
import time
from email.utils import parsedate_to_datetime

import httpx

RETRYABLE_STATUSES = frozenset({408, 409, 429})
# A refused key is the operator's to fix: the job waits for it rather than failing.
WAIT_FOR_OPERATOR_STATUSES = frozenset({401, 403})
INITIAL_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 8.0


def should_retry(response: httpx.Response) -> bool:
    override = response.headers.get("x-should-retry")
    if override in ("true", "false"):
        return override == "true"
    return response.status_code in RETRYABLE_STATUSES or response.status_code >= 500


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the upstream asked us to wait, if it said."""
    headers = response.headers
    if (milliseconds := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def backoff(attempt: int) -> float:
    """The pause before try number `attempt + 1` (attempt counts from 0)."""
    delay = min(INITIAL_BACKOFF_SECONDS * 2**attempt, MAX_BACKOFF_SECONDS)
    return delay * (1 - 0.25 * random.random())
