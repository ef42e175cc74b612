"""What every route does before FastAPI reads its body: check the caller's key (and rate limit),
then take the body within the route's size cap and the idle timeout.

FastAPI reads and parses a body before it solves a route's dependencies, so a key checked in a
dependency comes too late: anyone could make the server buffer and parse hundreds of megabytes.
Routers choose a route class here instead; its handler runs after routing and before FastAPI
touches the body. A route that declares a JSON body gets it read here, bounded, and handed on; a
route that reads the stream itself (uploads, webhooks) reads it through the same bounds.
"""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive

from gateway import auth
from gateway.admin.auth import check_admin_key
from gateway.errors import PayloadTooLarge, RequestTimeout
from gateway.ratelimit.admission import admit_request
from gateway.settings import Settings

BodyCap = Callable[[Settings], int]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def body_cap(cap: BodyCap) -> Callable[[Endpoint], Endpoint]:
    """Marks an endpoint whose body may be larger than `max_json_body_bytes`."""

    def mark(endpoint: Endpoint) -> Endpoint:
        endpoint.body_cap = cap  # type: ignore[attr-defined]
        return endpoint

    return mark


def request_too_large(cap: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Request body too large: this endpoint accepts at most {cap} bytes.", code="request_too_large"
    )


def body_timeout(seconds: float) -> RequestTimeout:
    return RequestTimeout(f"The request body stopped arriving: no bytes for {seconds:g} seconds.")


def bounded_receive(receive: Receive, cap: int, idle_seconds: float) -> Receive:
    """`receive`, refusing a body beyond `cap` bytes and a client silent for `idle_seconds` while
    its body is still coming. Once the body is complete it waits as long as it is asked to."""
    received = 0
    complete = False

    async def bounded() -> Message:
        nonlocal received, complete
        if complete:
            return await receive()
        with anyio.move_on_after(idle_seconds) as waiting:
            message = await receive()
        if waiting.cancelled_caught:
            raise body_timeout(idle_seconds)
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > cap:
                raise request_too_large(cap)
            complete = not message.get("more_body", False)
        return message

    return bounded


async def read_body(request: Request, cap: int, idle_seconds: float) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise request_too_large(cap)
    receive = bounded_receive(request.receive, cap, idle_seconds)
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """Hands `body` over once, then whatever the client sends next (its disconnect)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class GuardedRoute(APIRoute):
    """A route whose body is bounded before FastAPI reads it; no key is asked for."""

    async def admit(self, request: Request) -> None:
        """Refuses the caller before any byte of the body is read."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()
        cap_of: BodyCap = getattr(self.endpoint, "body_cap", lambda settings: settings.max_json_body_bytes)

        async def guarded(request: Request) -> Response:
            await self.admit(request)
            settings: Settings = request.app.state.runtime.settings
            cap, idle = cap_of(settings), settings.request_body_idle_seconds
            if self.body_field is None:
                receive = bounded_receive(request.receive, cap, idle)
            else:
                receive = replaying(await read_body(request, cap, idle), request.receive)
            return await handler(Request(request.scope, receive))

        return guarded


class ProjectRoute(GuardedRoute):
    """/v1: a project's key, within its requests-per-minute limit."""

    async def admit(self, request: Request) -> None:
        if hasattr(request.state, "caller"):
            return  # admitted by `hot_reads.lane`, which then stepped aside
        runtime = request.app.state.runtime
        caller = await auth.authenticate(runtime, auth.bearer_secret(request))
        await admit_request(request, runtime.rate_limiter, caller)
        request.state.caller = caller


class AdminRoute(GuardedRoute):
    """/admin: the operator's key."""

    async def admit(self, request: Request) -> None:
        request.state.admin_actor = check_admin_key(request, request.app.state.runtime.settings)
