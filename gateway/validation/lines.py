"""Split a byte stream, fed in arbitrary chunks, into numbered lines.

Lines end at b"\\n" and are numbered from 1; a last line without a newline is still a line. A UTF-8
BOM at the start of the stream is dropped. A trailing b"\\r" is left in place (JSON treats it
as whitespace). A line longer than `max_line_bytes` comes out as `None` and is never held
in memory beyond that cap.
"""

from __future__ import annotations

UTF8_BOM = b"\xef\xbb\xbf"

NumberedLine = tuple[int, bytes | None]


class LineSplitter:
    def __init__(self, max_line_bytes: int) -> None:
        self._max_line_bytes = max_line_bytes
        self._partial = bytearray()
        self._partial_too_long = False
        self._last_number = 0

    def feed(self, chunk: bytes) -> list[NumberedLine]:
        pieces = chunk.split(b"\n")
        tail = pieces.pop()
        lines: list[NumberedLine] = []
        if pieces and (self._partial or self._partial_too_long):
            self._extend_partial(pieces[0])
            lines.append(self._take_partial())
            del pieces[0]
        limit = self._max_line_bytes
        for piece in pieces:
            self._last_number += 1
            lines.append((self._last_number, piece if len(piece) <= limit else None))
        self._extend_partial(tail)
        if lines and lines[0][0] == 1:
            lines[0] = _without_bom(lines[0])
        return lines

    def finish(self) -> list[NumberedLine]:
        if not (self._partial or self._partial_too_long):
            return []
        line = self._take_partial()
        return [_without_bom(line) if line[0] == 1 else line]

    def _extend_partial(self, piece: bytes) -> None:
        if self._partial_too_long or not piece:
            return
        if len(self._partial) + len(piece) > self._max_line_bytes:
            self._partial_too_long = True
            self._partial.clear()
        else:
            self._partial += piece

    def _take_partial(self) -> NumberedLine:
        self._last_number += 1
        line = None if self._partial_too_long else bytes(self._partial)
        self._partial.clear()
        self._partial_too_long = False
        return self._last_number, line


def _without_bom(line: NumberedLine) -> NumberedLine:
    number, data = line
    if data is not None and data.startswith(UTF8_BOM):
        return number, data[len(UTF8_BOM) :]
    return line
