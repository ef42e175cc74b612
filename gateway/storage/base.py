"""The blob store interface: files go in as a stream and come out as a stream."""

from typing import BinaryIO, Protocol


class StoreUnavailable(OSError):
    """The store could not be reached (or failed on its side), its retries spent: worth trying
    again later, unlike a missing blob or a refused key."""


class BlobWriter(Protocol):
    def write(self, chunk: bytes) -> None: ...

    def commit(self) -> None:
        """Make the blob visible under its key; until then readers never see it."""

    def abort(self) -> None:
        """Discard everything written so far."""

    def splice(self, key: str, size: int) -> bool:
        """Append the whole blob `key` (`size` bytes) by a copy inside the store, where the store
        can; False: nothing was appended, write its bytes instead."""


class BlobStore(Protocol):
    def writer(self, key: str) -> BlobWriter: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...

    async def check(self) -> None:
        """Raise (OSError, or the store's own error) unless blobs can be written now: /readyz asks."""
        ...

    def remove_abandoned_writes(self) -> int:
        """Remove what writers that died before commit or abort left behind, never what a live
        writer (in any process) is writing; return how many were removed."""
        ...
