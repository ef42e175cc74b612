"""The blob store's calls made from the event loop, each in a worker thread (a store may be a
network away)."""

import shutil
import tempfile
from typing import BinaryIO

import anyio

from gateway.storage.base import BlobStore, BlobWriter


async def delete(blobs: BlobStore, key: str) -> None:
    """Also when the caller is being cancelled: this is how a failed request cleans up."""
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(blobs.delete, key)


async def commit(writer: BlobWriter) -> None:
    await anyio.to_thread.run_sync(writer.commit)


async def abort(writer: BlobWriter) -> None:
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(writer.abort)


async def open_seekable(blobs: BlobStore, key: str) -> BinaryIO:
    """The blob as a file that can be read again from the start (an upstream upload retried): the
    store's own where it can seek, else a temporary local copy."""
    return await anyio.to_thread.run_sync(_seekable, blobs, key)


def _seekable(blobs: BlobStore, key: str) -> BinaryIO:
    content = blobs.open(key)
    if content.seekable():
        return content
    with content:
        copy = tempfile.TemporaryFile()  # noqa: SIM115 (the caller closes it)
        shutil.copyfileobj(content, copy, 1024 * 1024)
    copy.seek(0)
    return copy
