"""Admitting a request against the caller's buckets: its headers are left for the response,
and an empty bucket refuses it with OpenAI's 429 before anything else happens."""

import asyncio
from collections.abc import Awaitable, Callable

from starlette.requests import Request

from gateway.projects import Caller
from gateway.ratelimit import wire
from gateway.ratelimit.limiter import Kind, RateLimiter
from gateway.request_context import add_response_headers

ChatTokensDebit = Callable[[int], Awaitable[None]]


async def admit_request(request: Request, limiter: RateLimiter, caller: Caller) -> None:
    """One request taken from the caller's requests-per-minute bucket."""
    await _admit(request, limiter, caller, Kind.REQUESTS)


async def admit_chat(request: Request, limiter: RateLimiter, caller: Caller) -> ChatTokensDebit:
    """A chat needs one token in the caller's tokens-per-minute bucket to start, and pays the
    rest once its usage is known, through the function returned: the bucket may go below zero,
    and the caller's next chats wait until it has refilled."""
    await _admit(request, limiter, caller, Kind.TOKENS)
    return _token_debit(limiter, caller)


async def _admit(request: Request, limiter: RateLimiter, caller: Caller, kind: Kind) -> None:
    decision = await limiter.take(caller, kind)
    if decision is None:
        return
    add_response_headers(request, wire.headers(kind, decision))
    if not decision.allowed:
        raise wire.refusal(kind, caller.rate_limit_key, decision, requested=1)


async def wait_for_chat(limiter: RateLimiter, caller: Caller) -> ChatTokensDebit:
    """`admit_chat` for work with no client waiting (an eval run's samples): instead of a 429,
    wait until the caller's tokens-per-minute bucket lets the chat start."""
    while (decision := await limiter.take(caller, Kind.TOKENS)) is not None and not decision.allowed:
        await asyncio.sleep(max(decision.seconds_until_available, 0.05))
    return _token_debit(limiter, caller)


def _token_debit(limiter: RateLimiter, caller: Caller) -> ChatTokensDebit:
    """Pays the rest of a chat's tokens once its usage is known (one was taken to start it)."""

    async def debit(total_tokens: int) -> None:
        await limiter.debit(caller, Kind.TOKENS, max(0, total_tokens - 1))

    return debit
