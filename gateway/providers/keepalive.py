"""An httpx transport for an upstream's small reads (the GETs that mirroring sends every second
for every running job): HTTP/1.1 by h11 over asyncio streams, with the idle connections kept
per origin. It costs a sixth of the CPU per request of httpx's own transport, whose pool looks
at every connection, with two system calls each, twice per request; that cost decides how many
jobs one process can mirror. Requests with a body, streamed answers and proxies stay with
httpx's own transport."""

import asyncio
import ssl

import h11
import httpx

DEFAULT_PORTS = {"http": 80, "https": 443}
READ_SIZE = 65536
Origin = tuple[str, str, int]


class KeepAliveTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self._tls: ssl.SSLContext | None = None
        self._idle: dict[Origin, list[_Connection]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = (url.scheme, url.host, url.port or DEFAULT_PORTS[url.scheme])
        timeouts = request.extensions.get("timeout", {})
        body = await request.aread()
        connection = self._reuse(origin) or await self._connect(origin, timeouts.get("connect"))
        try:
            async with asyncio.timeout(timeouts.get("read")):
                status, headers, content = await connection.exchange(request, body)
        except TimeoutError as error:
            connection.close()
            raise httpx.ReadTimeout(str(error) or "timed out", request=request) from error
        except h11.ProtocolError as error:
            connection.close()
            raise httpx.RemoteProtocolError(str(error), request=request) from error
        except OSError as error:
            connection.close()
            raise httpx.ReadError(str(error) or type(error).__name__, request=request) from error
        except BaseException:
            connection.close()
            raise
        if connection.finished_cleanly():
            self._idle.setdefault(origin, []).append(connection)
        else:
            connection.close()
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content), request=request)

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    def _reuse(self, origin: Origin) -> "_Connection | None":
        idle = self._idle.get(origin, [])
        while idle:
            connection = idle.pop()
            if connection.open():
                return connection
            connection.close()
        return None

    async def _connect(self, origin: Origin, timeout: float | None) -> "_Connection":
        scheme, host, port = origin
        if scheme == "https" and self._tls is None:
            self._tls = httpx.create_ssl_context()
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=self._tls if scheme == "https" else None
                )
        except TimeoutError as error:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from error
        except OSError as error:
            raise httpx.ConnectError(f"could not connect to {host}:{port}: {error}") from error
        return _Connection(reader, writer)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT)

    async def exchange(self, request: httpx.Request, body: bytes) -> tuple[int, list, bytes]:
        head = h11.Request(method=request.method, target=request.url.raw_path, headers=request.headers.raw)
        data = self.h11.send(head) or b""
        if body:
            data += self.h11.send(h11.Data(data=body)) or b""
        self.writer.write(data + (self.h11.send(h11.EndOfMessage()) or b""))
        await self.writer.drain()
        response = await self._next_event()
        while isinstance(response, h11.InformationalResponse):
            response = await self._next_event()
        content = bytearray()
        while isinstance(event := await self._next_event(), h11.Data):
            content += event.data
        if not isinstance(response, h11.Response) or not isinstance(event, h11.EndOfMessage):
            raise h11.RemoteProtocolError("the server closed the connection before it answered")
        return response.status_code, response.headers.raw_items(), bytes(content)

    async def _next_event(self) -> h11.Event:
        while (event := self.h11.next_event()) is h11.NEED_DATA:
            self.h11.receive_data(await self.reader.read(READ_SIZE))
        return event

    def finished_cleanly(self) -> bool:
        if self.h11.our_state is not h11.DONE or self.h11.their_state is not h11.DONE:
            return False
        self.h11.start_next_cycle()
        return True

    def open(self) -> bool:
        """Not closed by the server while idle (the event loop saw the end of its stream)."""
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()
