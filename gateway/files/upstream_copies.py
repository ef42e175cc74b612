"""A file's copy at an upstream, uploaded once per file and upstream: by the first job sent with
it, or by a quote that asks the upstream's price estimate (Together's estimate-price names the
file by its Together id). Later jobs and quotes reuse the copy."""

import time

from gateway.files import repository
from gateway.models import UpstreamFile
from gateway.providers.base import Provider
from gateway.runtime import Runtime
from gateway.storage import aio as blob_calls


async def upload_once(runtime: Runtime, provider: Provider, project_id: str, file_id: str) -> str:
    """The file's id at the upstream, uploading it first if nobody did. A row marks an upload
    under way, so that jobs sharing a file wait for it rather than upload it again (UploadInProgress);
    a mark older than a lease (its uploader died) is taken over. MissingFile when the file is gone."""
    now = int(time.time())
    async with runtime.transaction() as session:
        copy = await repository.upstream_copy(session, file_id, provider.name)
        if copy is not None and copy.upstream_file_id is not None:
            return copy.upstream_file_id
        if copy is not None and copy.created_at > now - runtime.settings.job_lease_seconds:
            raise UploadInProgress(file_id)
        stored = await repository.get(session, project_id, file_id, now)
        if stored is None:
            raise MissingFile(file_id)
        if copy is None:
            session.add(UpstreamFile(file_id=file_id, upstream=provider.name, created_at=now))
        else:
            copy.created_at = now
    content = await blob_calls.open_seekable(runtime.blobs, stored.blob_key)
    try:
        uploaded = await provider.upload_file(stored.filename, content, stored.purpose)
    finally:
        content.close()
    async with runtime.transaction() as session:
        copy = await repository.upstream_copy(session, file_id, provider.name)
        assert copy is not None
        copy.upstream_file_id = uploaded
    return uploaded


async def forget(runtime: Runtime, file_id: str, upstream: str, upstream_file_id: str) -> None:
    """Drop the cached copy after the upstream said it has no `upstream_file_id`, unless another
    upload already replaced it."""
    async with runtime.transaction() as session:
        await repository.forget_upstream_copy(session, file_id, upstream, upstream_file_id)


class MissingFile(Exception):
    def __init__(self, file_id: str) -> None:
        super().__init__(f"The job failed because the file {file_id} no longer exists.")
        self.file_id = file_id


class UploadInProgress(Exception):
    """Another job is uploading the same file to the same upstream: try again shortly."""
