"""A small HTTP/1.1 server on asyncio and h11: keep-alive, streamed bodies, and the power to close a
connection without answering (which an ASGI server cannot do)."""

import asyncio
import functools
import json
import re
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import h11

READ_SIZE = 65536


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, tuple[str | None, bytes]]:
        """The multipart/form-data fields: name -> (filename or None, content)."""
        boundary = re.search(r'boundary="?([^";]+)', self.headers.get("content-type", ""))
        if boundary is None:
            return {}
        fields = {}
        for part in self.body.split(b"--" + boundary.group(1).encode())[1:-1]:
            head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
            name = re.search(rb';\s*name="([^"]*)"', head)
            filename = re.search(rb';\s*filename="([^"]*)"', head)
            if name:
                fields[name.group(1).decode()] = (
                    filename.group(1).decode() if filename else None,
                    content.removesuffix(b"\r\n"),
                )
        return fields


@dataclass
class Response:
    status: int
    payload: Any = None
    content: bytes = b""
    stream: AsyncIterator[bytes] | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Awaitable[Response | None]]
Endpoint = Callable[..., Response]


class Routes:
    """An API's endpoints by method and path pattern (`re.fullmatch`; its named groups are passed
    to the endpoint by name)."""

    def __init__(self, routes: list[tuple[str, str, Endpoint]]) -> None:
        self.routes = [(method, re.compile(path), endpoint) for method, path, endpoint in routes]

    def find(self, request: Request) -> tuple[Endpoint, dict[str, str]] | None:
        """The endpoint for `request` and what its path names, or None where there is none."""
        for method, path, endpoint in self.routes:
            if method == request.method and (match := path.fullmatch(request.path)):
                return endpoint, match.groupdict()
        return None


SERVER_ERROR = {"message": "The fake upstream crashed.", "type": "server_error", "param": None, "code": None}


async def start_server(handler: Handler, host: str, port: int) -> asyncio.Server:
    """Serve `handler` on (host, port); a handler that returns None drops the connection unanswered."""
    return await asyncio.start_server(functools.partial(_serve_connection, handler), host, port, backlog=1024)


async def _serve_connection(
    handler: Handler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    conn = h11.Connection(h11.SERVER)
    try:
        while (request := await _read_request(conn, reader)) is not None:
            try:
                response = await handler(request)
            except Exception:
                traceback.print_exc()
                response = Response(500, {"error": SERVER_ERROR})
            if response is None:
                return
            await _write_response(conn, writer, response)
            if conn.our_state is not h11.DONE:
                return
            conn.start_next_cycle()
    except (ConnectionError, h11.ProtocolError, asyncio.CancelledError):
        pass  # the client left or spoke broken HTTP, or the server is stopping (3.11's streams log a cancel)
    finally:
        writer.close()


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> Any:
    while (event := conn.next_event()) is h11.NEED_DATA:
        conn.receive_data(await reader.read(READ_SIZE))
    return event


async def _read_request(conn: h11.Connection, reader: asyncio.StreamReader) -> Request | None:
    event = await _next_event(conn, reader)
    if not isinstance(event, h11.Request):
        return None
    body = bytearray()
    while isinstance(chunk := await _next_event(conn, reader), h11.Data):
        body += chunk.data
    target = urlsplit(event.target.decode())
    headers = {name.decode(): value.decode("latin-1") for name, value in event.headers}
    return Request(event.method.decode(), target.path, dict(parse_qsl(target.query)), headers, bytes(body))


async def _write_response(conn: h11.Connection, writer: asyncio.StreamWriter, response: Response) -> None:
    headers = [("content-type", response.content_type), *response.headers.items()]
    if response.stream is None:
        body = response.content if response.payload is None else json.dumps(response.payload).encode()
        headers.append(("content-length", str(len(body))))
        head = conn.send(h11.Response(status_code=response.status, headers=headers))
        writer.write(head + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
    else:
        writer.write(conn.send(h11.Response(status_code=response.status, headers=headers)))
        async for chunk in response.stream:
            writer.write(conn.send(h11.Data(data=chunk)))
            await writer.drain()
        writer.write(conn.send(h11.EndOfMessage()))
    await writer.drain()
