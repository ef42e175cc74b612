"""The blob store's calls made from the event loop, each in a worker thread (a store may be a
network away)."""

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
