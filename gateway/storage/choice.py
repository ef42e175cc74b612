"""The blob store and the artifact folders' store the settings name."""

from pathlib import Path

from gateway.settings import Settings
from gateway.storage.base import BlobStore
from gateway.storage.folders import BucketFolders, FolderStore, SharedFolders
from gateway.storage.local import LocalBlobStore
from gateway.storage.s3 import S3BlobStore, s3_client


def blob_store(settings: Settings) -> BlobStore:
    if settings.storage == "local":
        assert settings.blob_dir is not None
        return LocalBlobStore(settings.blob_dir)
    secret = settings.s3_secret_access_key
    client = s3_client(
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret is not None else None,
    )
    return S3BlobStore(client, settings.s3_bucket, settings.s3_prefix, settings.s3_part_bytes)


def folder_store(settings: Settings, blobs: BlobStore) -> FolderStore:
    assert settings.artifacts_dir is not None and settings.artifact_cache_dir is not None
    if isinstance(blobs, S3BlobStore):
        return BucketFolders(blobs, settings.artifacts_dir, settings.artifact_cache_dir)
    return SharedFolders(settings.artifacts_dir)


def adapters_dir(settings: Settings) -> Path:
    """Where the folders that `folder_store` fetches lie on this node: the artifacts folder, or on
    S3 storage the local cache of the bucket's folders (what a vLLM or SGLang server must read)."""
    folder = settings.artifact_cache_dir if settings.storage == "s3" else settings.artifacts_dir
    assert folder is not None
    return folder
