"""Rate limits as OpenAI tells them: `x-ratelimit-*` headers, and 429 `rate_limit_exceeded`."""

import math

from gateway.errors import RateLimited, TokensRateLimited
from gateway.ratelimit.buckets import Decision
from gateway.ratelimit.limiter import Kind

UNITS = {Kind.REQUESTS: "requests per min (RPM)", Kind.TOKENS: "tokens per min (TPM)"}


def duration(seconds: float) -> str:
    """Go's duration format, as OpenAI writes resets: `120ms`, `8.64s`, `6m0s`."""
    milliseconds = round(seconds * 1000)
    if milliseconds == 0:
        return "0s"
    if milliseconds < 1000:
        return f"{milliseconds}ms"
    minutes, rest = divmod(milliseconds, 60_000)
    text = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{minutes}m{text}" if minutes else text


def headers(kind: Kind, decision: Decision) -> dict[str, str]:
    return {
        f"x-ratelimit-limit-{kind}": str(decision.limit),
        f"x-ratelimit-remaining-{kind}": str(decision.remaining),
        f"x-ratelimit-reset-{kind}": duration(decision.seconds_until_full),
    }


def refusal(kind: Kind, key_id: str, decision: Decision, requested: int) -> RateLimited:
    wait = decision.seconds_until_available
    used = decision.limit - decision.remaining
    error = TokensRateLimited if kind is Kind.TOKENS else RateLimited
    return error(
        f"Rate limit reached for {UNITS[kind]} on key {key_id}: Limit {decision.limit}, Used {used}, "
        f"Requested {requested}. Please try again in {duration(wait)}.",
        headers={"retry-after": str(max(1, math.ceil(wait)))},
    )
