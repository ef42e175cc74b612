"""A folder of weights sent as an uncompressed tar, streamed: each file's header from tarfile,
then its bytes read in chunks, so that neither memory nor disk ever holds the archive.

The files are opened before the first byte goes out, so a folder removed meanwhile (a merged
export evicted from its cache) is still read whole; the archive's length is known up front.
"""

import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 1024 * 1024
END_OF_ARCHIVE = 2 * tarfile.BLOCKSIZE


@dataclass(frozen=True)
class Entry:
    name: str
    header: bytes
    size: int
    content: BinaryIO | None  # None for in-memory entries, whose bytes are `data`
    data: bytes = b""

    @property
    def length(self) -> int:
        return len(self.header) + self.size + _padding(self.size)


class TarStream:
    """Opened files and small generated files, to be sent as one tar under `folder/`."""

    def __init__(self, folder: str, mtime: int) -> None:
        self.folder = folder
        self.mtime = mtime
        self._entries: list[Entry] = []

    def add_tree(self, root: Path) -> None:
        """Every regular file under `root` (links are left out), by its path there."""
        for path in sorted(root.rglob("*")):
            name = path.relative_to(root).as_posix()
            if path.is_file() and not path.is_symlink():
                self.add_file(path, name)

    def add_file(self, path: Path, name: str) -> None:
        content = path.open("rb")
        size = os.fstat(content.fileno()).st_size
        self._entries.append(Entry(name, self._header(name, size), size, content))

    def add_bytes(self, name: str, data: bytes) -> None:
        self._entries.append(Entry(name, self._header(name, len(data)), len(data), None, data))

    @property
    def names(self) -> list[str]:
        return [entry.name for entry in self._entries]

    @property
    def length(self) -> int:
        return sum(entry.length for entry in self._entries) + END_OF_ARCHIVE

    def chunks(self) -> Iterator[bytes]:
        """The archive's bytes; closes every file once sent, or when the stream is dropped."""
        try:
            for entry in self._entries:
                yield entry.header
                yield from _content(entry)
                if padding := _padding(entry.size):
                    yield bytes(padding)
            yield bytes(END_OF_ARCHIVE)
        finally:
            self.close()

    def close(self) -> None:
        for entry in self._entries:
            if entry.content is not None:
                entry.content.close()

    def _header(self, name: str, size: int) -> bytes:
        info = tarfile.TarInfo(f"{self.folder}/{name}")
        info.size = size
        info.mtime = self.mtime
        info.mode = 0o644
        return info.tobuf(tarfile.PAX_FORMAT)


def _content(entry: Entry) -> Iterator[bytes]:
    if entry.content is None:
        yield entry.data
        return
    left = entry.size
    while left:
        chunk = entry.content.read(min(CHUNK_BYTES, left))
        if not chunk:
            raise OSError(f"{entry.name} ended {left} bytes early while being sent")
        left -= len(chunk)
        yield chunk


def _padding(size: int) -> int:
    return -size % tarfile.BLOCKSIZE
