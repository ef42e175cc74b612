"""A streaming multipart/form-data reader: yields parts as the bytes arrive, never spooling.

Starlette's own form parser copies file parts into temporary files first; an upload here goes
straight from the socket to the blob store and the validator instead.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import python_multipart
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartState, parse_options_header

from gateway.errors import InvalidRequest

MAX_FIELD_BYTES = 64 * 1024


@dataclass(frozen=True)
class FieldPart:
    name: str
    value: str


@dataclass(frozen=True)
class FileStart:
    name: str
    filename: str


@dataclass(frozen=True)
class FileData:
    data: bytes


@dataclass(frozen=True)
class FileEnd:
    pass


Part = FieldPart | FileStart | FileData | FileEnd


class _Collector:
    """Turns python-multipart's callbacks into a list of parts per network chunk. A part named in
    `streamed` streams as a file even when it carries no filename (its filename is then "")."""

    def __init__(self, streamed: frozenset[str] = frozenset()) -> None:
        self.parts: list[Part] = []
        self._streamed = streamed
        self._header_field = b""
        self._header_value = b""
        self._disposition = b""
        self._is_file = False
        self._name = ""
        self._field_value = bytearray()

    def on_part_begin(self) -> None:
        self._disposition = b""
        self._field_value.clear()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_field.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_field = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        self._is_file = filename is not None or self._name in self._streamed
        if self._is_file:
            self.parts.append(FileStart(self._name, (filename or b"").decode("utf-8", "replace")))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.parts.append(FileData(data[start:end]))
            return
        self._field_value += data[start:end]
        if len(self._field_value) > MAX_FIELD_BYTES:
            raise InvalidRequest(f"Form field '{self._name}' is too large.", param=self._name)

    def on_part_end(self) -> None:
        if self._is_file:
            self.parts.append(FileEnd())
        else:
            value = self._field_value.decode("utf-8", "replace")
            self.parts.append(FieldPart(self._name, value))


def _boundary(content_type: str | None, expected: str) -> bytes:
    mime, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise InvalidRequest(f"Expected a multipart/form-data body with a boundary ({expected}).")
    return boundary


async def read_parts(
    content_type: str | None,
    body: AsyncIterator[bytes],
    streamed: frozenset[str] = frozenset(),
    expected: str = "fields 'file' and 'purpose'",
) -> AsyncIterator[Part]:
    """The parts of `body` as they arrive; `streamed` names fields read as file data, filename or
    not (the Uploads API's `data`, which curl's `-F data=...` sends as a plain field); `expected`
    says in a refusal which fields the body should have."""
    collector = _Collector(streamed)
    callbacks = {
        name: getattr(collector, name)
        for name in (
            "on_part_begin",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_part_data",
            "on_part_end",
        )
    }
    parser = python_multipart.MultipartParser(_boundary(content_type, expected), callbacks)
    try:
        async for chunk in body:
            parser.write(chunk)
            for part in collector.parts:
                yield part
            collector.parts.clear()
        parser.finalize()
    except FormParserError as exc:
        raise InvalidRequest("Invalid multipart body.") from exc
    if parser.state != MultipartState.END:
        raise InvalidRequest("Invalid multipart body: it ends before the closing boundary.")
    for part in collector.parts:
        yield part
