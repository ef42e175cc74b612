"""An `x-request-id` on every response and on the log lines of its request, the headers a handler
left for it, and a 500 envelope for anything unexpected. A client that went away is no server
error: one line at info."""

import json
import logging
from collections.abc import Mapping

from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import ids
from gateway.errors import ServerError
from gateway.observability import logs

log = logging.getLogger(__name__)

SERVER_ERROR = ServerError("The server had an error while processing your request. Sorry about that!")
RESPONSE_HEADERS = "response_headers"


def add_response_headers(request: Request, headers: Mapping[str, str]) -> None:
    """Headers for this request's response whatever it turns out to be: an error, or a
    `StreamingResponse`, which a dependency's injected `Response` headers never reach. They
    replace the response's own headers of the same names."""
    request.scope.setdefault("state", {}).setdefault(RESPONSE_HEADERS, {}).update(headers)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ids.new_request_id()
        state = scope.setdefault("state", {})
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                added = {"x-request-id": request_id, **state.get(RESPONSE_HEADERS, {})}
                kept = [
                    (name, value) for name, value in message.get("headers", []) if name.decode() not in added
                ]
                message["headers"] = [
                    *kept,
                    *((name.encode(), value.encode()) for name, value in added.items()),
                ]
            await send(message)

        logged_as = logs.request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            log.info("client went away during request %s (%s %s)", request_id, scope["method"], scope["path"])
        except Exception:
            log.exception("unhandled error in request %s", request_id)
            if started:
                raise
            body = json.dumps(SERVER_ERROR.body()).encode()
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body})
        finally:
            logs.request_id.reset(logged_as)
