"""The S3 blob store against a real S3-protocol server (moto's): multipart writes, commit and
abort, streaming reads, idempotent deletes and the sweep of abandoned multipart uploads."""

import os
import time

import pytest
from botocore.exceptions import ClientError

from gateway.storage import aio as blob_calls
from gateway.storage.s3 import MIN_PART_BYTES, S3BlobStore
from tests.support.s3 import S3Server

pytestmark = pytest.mark.s3

PART = MIN_PART_BYTES


@pytest.fixture
def store(s3_server: S3Server) -> S3BlobStore:
    return s3_server.new_store(part_bytes=PART)


def objects(store: S3BlobStore) -> list[str]:
    listed = store.client.list_objects_v2(Bucket=store.bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def uploads_in_progress(store: S3BlobStore) -> list[str]:
    listed = store.client.list_multipart_uploads(Bucket=store.bucket)
    return [item["Key"] for item in listed.get("Uploads", [])]


def write_in_chunks(store: S3BlobStore, key: str, content: bytes, chunk: int = 1024 * 1024):
    writer = store.writer(key)
    for start in range(0, len(content), chunk):
        writer.write(content[start : start + chunk])
    return writer


def test_a_blob_larger_than_a_part_goes_up_in_parts_and_appears_on_commit(store):
    content = os.urandom(2 * PART + 12345)
    writer = write_in_chunks(store, "file-big", content)
    assert uploads_in_progress(store) == ["file-big"]  # two full parts sent, the rest held
    with pytest.raises(FileNotFoundError):
        store.open("file-big")
    writer.commit()
    assert uploads_in_progress(store) == [] and objects(store) == ["file-big"]
    parts = store.client.head_object(Bucket=store.bucket, Key="file-big")["ETag"]
    assert parts.strip('"').endswith("-3")  # S3's multipart ETag names the part count
    with store.open("file-big") as blob:
        read = b"".join(iter(lambda: blob.read(1024 * 1024), b""))
    assert read == content


def test_a_small_blob_is_one_put(store):
    writer = write_in_chunks(store, "file-small", b"hello world", chunk=4)
    assert uploads_in_progress(store) == []
    writer.commit()
    with store.open("file-small") as blob:
        assert blob.read() == b"hello world"


def test_a_blob_of_exactly_one_part_is_committed(store):
    content = os.urandom(PART)
    write_in_chunks(store, "file-one", content).commit()
    with store.open("file-one") as blob:
        assert blob.read() == content


def test_abort_leaves_no_object_and_no_upload(store):
    writer = write_in_chunks(store, "file-gone", os.urandom(PART + 10))
    assert uploads_in_progress(store) == ["file-gone"]
    writer.abort()
    assert uploads_in_progress(store) == [] and objects(store) == []


def test_commit_replaces_an_existing_blob(store):
    for content in (b"first", b"second"):
        write_in_chunks(store, "file-abc", content).commit()
    with store.open("file-abc") as blob:
        assert blob.read() == b"second"


def test_delete_is_idempotent(store):
    write_in_chunks(store, "file-abc", b"x").commit()
    store.delete("file-abc")
    store.delete("file-abc")
    store.delete("file-never-written")
    assert objects(store) == []
    with pytest.raises(FileNotFoundError):
        store.open("file-abc")


def test_keys_live_under_the_prefix(s3_server: S3Server):
    store = s3_server.new_store(prefix="tenant-a/")
    write_in_chunks(store, "file-abc", b"x").commit()
    assert objects(store) == ["tenant-a/file-abc"]


@pytest.mark.parametrize("key", ["", "/etc", ".hidden", "a/../b"])
def test_odd_keys_are_refused(store, key: str):
    with pytest.raises(ValueError):
        store.writer(key)


def test_the_sweep_aborts_old_multipart_uploads_only(store):
    write_in_chunks(store, "file-dead", os.urandom(PART + 1))  # a writer that died: never ended
    listed = store.client.list_multipart_uploads(Bucket=store.bucket)["Uploads"]
    age = time.time() - listed[0]["Initiated"].timestamp()  # as the server dates it (moto: 2010)
    assert store.remove_abandoned_writes(min_age_seconds=age + 3600) == 0
    assert uploads_in_progress(store) == ["file-dead"]
    assert store.remove_abandoned_writes(min_age_seconds=max(age - 3600, 0)) == 1
    assert uploads_in_progress(store) == []


async def test_check_raises_for_a_missing_bucket(s3_server: S3Server, store):
    await store.check()
    gone = S3BlobStore(store.client, "ftgate-no-such-bucket")
    with pytest.raises(ClientError):
        await gone.check()


def test_splice_copies_a_part_sized_blob_in_the_bucket_and_refuses_otherwise(store):
    big, small = os.urandom(PART + 7), b"small tail"
    for key, content in (("part-big", big), ("part-small", small)):
        write_in_chunks(store, key, content).commit()
    writer = store.writer("file-joined")
    assert not writer.splice("part-small", len(small))  # under S3's smallest part
    assert writer.splice("part-big", len(big))
    writer.write(small)
    assert not writer.splice("part-big", len(big))  # bytes held back: not at a part boundary
    writer.write(big)
    writer.commit()
    with store.open("file-joined") as blob:
        assert blob.read() == big + small + big


def test_splice_as_the_last_part_completes(store):
    big = os.urandom(PART)
    write_in_chunks(store, "part-big", big).commit()
    writer = store.writer("file-copy")
    with pytest.raises(FileNotFoundError):
        writer.splice("part-gone", PART)
    assert writer.splice("part-big", len(big))
    writer.commit()
    with store.open("file-copy") as blob:
        assert blob.read() == big


async def test_a_blob_for_an_upstream_upload_can_be_read_again_from_the_start(store):
    write_in_chunks(store, "file-abc", b"line one\nline two\n").commit()
    content = await blob_calls.open_seekable(store, "file-abc")
    try:
        assert content.read() == b"line one\nline two\n"
        content.seek(0)
        assert content.read(8) == b"line one"
    finally:
        content.close()
