"""Blobs as objects in an S3-compatible bucket (AWS S3, MinIO, R2, GCS's interoperability API…).

A writer keeps at most one part in memory: the first `part_bytes` are held back, and a blob that
outgrows them becomes a multipart upload, one UploadPart per `part_bytes`, completed on commit
(a smaller blob is one PutObject). An object appears only when it is complete, so readers never
see a partial blob. Every call goes through botocore's retries; deleting is idempotent in S3, so
a retried delete is harmless. A bucket that cannot be reached is `StoreUnavailable`, soon: a
short connect timeout and a few tries.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import anyio
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from gateway.storage.base import StoreUnavailable

S3Client = Any  # botocore builds its clients' classes at run time

# S3's smallest part, the last one excepted, and its largest copied part.
MIN_PART_BYTES = 5 * 1024 * 1024
MAX_COPIED_PART_BYTES = 5 * 1024**3
DEFAULT_PART_BYTES = 8 * 1024 * 1024
# A multipart upload older than this is taken for one whose writer died (S3 keeps no lock to ask).
ABANDONED_MIN_AGE_SECONDS = 24 * 3600.0
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
CONNECT_TIMEOUT_SECONDS = 2.0
ATTEMPTS = 3


def s3_client(
    *,
    endpoint_url: str | None,
    region: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    max_connections: int = 32,
) -> S3Client:
    """A thread-safe client; credentials left out come from the standard AWS chain (environment,
    profile, instance role)."""
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        retries={"mode": "standard", "max_attempts": ATTEMPTS},
        max_pool_connections=max_connections,
        s3={"addressing_style": "path"} if endpoint_url else None,
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=config,
    )


def is_missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in _MISSING


@contextmanager
def unavailable_as_oserror() -> Iterator[None]:
    """No connection, a timeout, a connection cut mid-answer or a 5xx: `StoreUnavailable`."""
    try:
        yield
    except (BotoConnectionError, HTTPClientError) as error:
        raise StoreUnavailable(f"the object store cannot be reached: {error}") from error
    except ClientError as error:
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
            raise StoreUnavailable(f"the object store failed: {error}") from error
        raise


class S3BlobWriter:
    def __init__(self, store: "S3BlobStore", key: str) -> None:
        self._store = store
        self._client = store.client
        self._bucket = store.bucket
        self._key = store.object_key(key)
        self._part_bytes = store.part_bytes
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    @unavailable_as_oserror()
    def write(self, chunk: bytes) -> None:
        self._buffer += chunk
        while len(self._buffer) >= self._part_bytes:
            self._upload_part(bytes(self._buffer[: self._part_bytes]))
            del self._buffer[: self._part_bytes]

    @unavailable_as_oserror()
    def commit(self) -> None:
        if self._upload_id is None:
            self._client.put_object(Bucket=self._bucket, Key=self._key, Body=bytes(self._buffer))
            return
        if self._buffer or not self._parts:
            self._upload_part(bytes(self._buffer))
        self._buffer.clear()
        self._client.complete_multipart_upload(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )

    @unavailable_as_oserror()
    def abort(self) -> None:
        self._buffer.clear()
        if self._upload_id is not None:
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
            self._upload_id = None

    @unavailable_as_oserror()
    def splice(self, key: str, size: int) -> bool:
        """UploadPartCopy of the object `key` as the next part, when it starts a part (nothing
        is held back) and is a part's size for S3; the bytes never pass through here."""
        if self._buffer or not MIN_PART_BYTES <= size <= MAX_COPIED_PART_BYTES:
            return False
        upload_id = self._started()
        number = len(self._parts) + 1
        source = {"Bucket": self._bucket, "Key": self._store.object_key(key)}
        try:
            copied = self._client.upload_part_copy(
                Bucket=self._bucket, Key=self._key, UploadId=upload_id, PartNumber=number, CopySource=source
            )
        except ClientError as error:
            if is_missing(error):
                raise FileNotFoundError(key) from error
            raise
        self._parts.append({"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]})
        return True

    def _started(self) -> str:
        if self._upload_id is None:
            created = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)
            self._upload_id = created["UploadId"]
        return self._upload_id

    def _upload_part(self, data: bytes) -> None:
        upload_id = self._started()
        number = len(self._parts) + 1
        sent = self._client.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=upload_id, PartNumber=number, Body=data
        )
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})


class S3BlobStore:
    def __init__(
        self, client: S3Client, bucket: str, prefix: str = "", part_bytes: int = DEFAULT_PART_BYTES
    ) -> None:
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"S3 parts are at least {MIN_PART_BYTES} bytes")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.part_bytes = part_bytes

    def object_key(self, key: str) -> str:
        if not key or key.startswith(("/", ".")) or ".." in key.split("/"):
            raise ValueError(f"invalid blob key: {key!r}")
        return self.prefix + key

    def writer(self, key: str) -> S3BlobWriter:
        return S3BlobWriter(self, key)

    @unavailable_as_oserror()
    def open(self, key: str) -> BinaryIO:
        """The object as a stream read from the network as it is consumed."""
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as error:
            if is_missing(error):
                raise FileNotFoundError(key) from error
            raise
        return found["Body"]

    @unavailable_as_oserror()
    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    async def check(self) -> None:
        """Raise unless the bucket answers (HeadBucket)."""
        await anyio.to_thread.run_sync(self._head_bucket)

    @unavailable_as_oserror()
    def _head_bucket(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    @unavailable_as_oserror()
    def keys(self, prefix: str) -> list[str]:
        """The keys that start with `prefix` (the store's own prefix left out)."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.object_key(prefix)
        )
        return [item["Key"][len(self.prefix) :] for page in pages for item in page.get("Contents", [])]

    @unavailable_as_oserror()
    def remove_abandoned_writes(self, min_age_seconds: float = ABANDONED_MIN_AGE_SECONDS) -> int:
        """Abort the multipart uploads under the prefix begun more than `min_age_seconds` ago and
        say how many. S3 cannot tell a live writer from a dead one, so age alone decides: keep it
        well above the longest upload (a bucket lifecycle rule that aborts incomplete multipart
        uploads does the same job)."""
        cutoff = time.time() - min_age_seconds
        removed = 0
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for upload in page.get("Uploads", []):
                if upload["Initiated"].timestamp() > cutoff:
                    continue
                try:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                except ClientError as error:
                    if error.response.get("Error", {}).get("Code") != "NoSuchUpload":
                        raise
                    continue
                removed += 1
        return removed
