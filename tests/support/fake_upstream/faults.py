"""Fault injection: rules that bend the next few matching requests."""

import asyncio
import random
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from .errors import ApiError
from .server import Request, Response

ACTIONS = frozenset({"status", "timeout", "drop", "drop_after", "duplicate", "shuffle", "cut_stream"})
# A cut stream sends this many events, then the connection breaks.
CUT_AFTER_EVENTS = 2


@dataclass
class Fault:
    """`action` for the next `times` requests whose method is `method` (or "*") and whose path
    `path_pattern` matches (re.search)."""

    method: str
    path_pattern: str
    action: str
    times: int = 1
    status: int = 500
    retry_after: float | None = None
    seconds: float = 5.0
    regex: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}; expected one of {sorted(ACTIONS)}")
        self.method = self.method.upper()
        self.regex = re.compile(self.path_pattern)

    def matches(self, request: Request) -> bool:
        return self.method in ("*", request.method) and self.regex.search(request.path) is not None

    def error_response(self) -> Response:
        if self.status == 429:
            message = "Rate limit reached for requests per min (RPM): Limit 500, Used 500, Requested 1."
            error = ApiError(429, message, type="requests", code="rate_limit_exceeded")
        elif self.status >= 500:
            message = "The server had an error while processing your request. Sorry about that!"
            error = ApiError(self.status, message, type="server_error")
        else:
            error = ApiError(self.status, f"Injected fault: HTTP {self.status}.")
        response = error.response()
        if self.retry_after is not None:
            response.headers["retry-after"] = f"{self.retry_after:g}"
        return response


class Faults:
    def __init__(self) -> None:
        self.rules: list[Fault] = []

    def take(self, request: Request) -> Fault | None:
        """The first rule that matches `request`, using up one of its times."""
        for rule in self.rules:
            if rule.matches(request):
                rule.times -= 1
                if rule.times <= 0:
                    self.rules.remove(rule)
                return rule
        return None


async def answer(
    fault: Fault | None, request: Request, handle: Callable[[Request], Response]
) -> Response | None:
    """`handle(request)` bent by `fault`; None means: close the connection without an answer."""
    if fault is None:
        return handle(request)
    if fault.action == "status":
        return fault.error_response()
    if fault.action == "drop":
        return None
    if fault.action == "drop_after":
        handle(request)
        return None
    if fault.action == "timeout":
        await asyncio.sleep(fault.seconds)
        return handle(request)
    response = handle(request)
    if fault.action == "cut_stream":
        if response.stream is not None:
            response.stream = _cut(response.stream)
        return response
    items = response.payload.get("data") if isinstance(response.payload, dict) else None
    if isinstance(items, list) and fault.action == "duplicate":
        items[:] = [item for item in items for _ in range(2)]
    elif isinstance(items, list):
        shuffled = random.sample(items, len(items))
        items[:] = shuffled if shuffled != items else items[::-1]
    return response


async def _cut(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    sent = 0
    async for chunk in stream:
        if sent == CUT_AFTER_EVENTS:
            raise ConnectionResetError("the fake upstream cut the stream")
        sent += 1
        yield chunk
