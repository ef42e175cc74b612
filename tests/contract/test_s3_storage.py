"""Files larger than an S3 part, through the API on the S3 blob store: they go up as multipart
uploads while they stream in, come back byte for byte, and one past the size limit leaves
neither an object nor an unfinished upload in the bucket."""

import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest

from gateway.storage.choice import blob_store
from gateway.storage.s3 import MIN_PART_BYTES, S3BlobStore
from tests.conftest import TINY_MODEL, tiny_model_server
from tests.support.jobs import upload, wait_for_status
from tests.support.s3 import S3Server
from tests.support.server import RunningServer

pytestmark = pytest.mark.s3

MAX_BYTES = 3 * MIN_PART_BYTES


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, s3_server: S3Server
) -> Iterator[RunningServer]:
    with tiny_model_server(
        tmp_path_factory.mktemp("ftgate-s3"),
        tiny_model,
        "sqlite",
        **s3_server.settings(),
        s3_part_bytes=MIN_PART_BYTES,
        max_upload_bytes=MAX_BYTES,
    ) as running:
        yield running


@pytest.fixture
def bucket(server: RunningServer) -> S3BlobStore:
    store = blob_store(server.settings)
    assert isinstance(store, S3BlobStore)
    return store


def state(store: S3BlobStore) -> tuple[list[str], list[str]]:
    """The bucket's objects and its unfinished multipart uploads."""
    objects = store.client.list_objects_v2(Bucket=store.bucket).get("Contents", [])
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
    return sorted(item["Key"] for item in objects), [item["Key"] for item in uploads]


def test_a_file_of_several_parts_comes_back_byte_for_byte(client: openai.OpenAI, bucket: S3BlobStore):
    content = os.urandom(2 * MIN_PART_BYTES + 4321)
    file_id = client.files.create(file=("big.bin", content), purpose="user_data").id
    assert client.files.retrieve(file_id).bytes == len(content)
    assert client.files.content(file_id).read() == content
    etag = bucket.client.head_object(Bucket=bucket.bucket, Key=file_id)["ETag"]
    assert etag.strip('"').endswith("-3")
    client.files.delete(file_id)
    assert file_id not in state(bucket)[0]


def chunked_upload(server: RunningServer, key: str, size: int) -> httpx2.Response:
    """A multipart body sent in chunks, with no length given: only the stream can refuse it."""
    boundary = "ftgate-s3-test"

    def body() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nuser_data\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        block = os.urandom(1024 * 1024)
        for start in range(0, size, len(block)):
            yield block[: min(len(block), size - start)]
        yield f"\r\n--{boundary}--\r\n".encode()

    return httpx2.post(
        f"{server.base_url}/v1/files",
        content=body(),
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        timeout=60,
    )


def test_a_file_past_the_limit_is_a_413_and_leaves_nothing_in_the_bucket(
    server: RunningServer, bucket: S3BlobStore
):
    before = state(bucket)
    key = server.create_key("s3-limit")
    response = chunked_upload(server, key, MAX_BYTES + 1)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["param"] == "file"
    assert state(bucket) == before


def test_a_model_trained_here_is_served_from_the_bucket_alone(
    server: RunningServer, client: openai.OpenAI, bucket: S3BlobStore
):
    file_id = upload(client, "elle-limericks.jsonl")
    job = client.fine_tuning.jobs.create(
        model=TINY_MODEL,
        training_file=file_id,
        seed=1,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}},
    )
    job = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=300)
    assert job.status == "succeeded", job.error

    def manifests() -> list[str]:
        keys = state(bucket)[0]
        return sorted(key for key in keys if key.startswith(f"artifacts/{job.id}/") and key.endswith(".json"))

    # The training state, published at each epoch, goes once the trainer sees the job succeeded.
    deadline = time.monotonic() + 30
    while f"artifacts/{job.id}/states/latest.manifest.json" in manifests() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert manifests() == [
        f"artifacts/{job.id}/checkpoints/step-10.manifest.json",
        f"artifacts/{job.id}/checkpoints/step-20.manifest.json",
        f"artifacts/{job.id}/model.manifest.json",
    ]
    # A gateway on another node has none of the trainer's folders: only the bucket.
    assert server.settings.artifacts_dir is not None
    shutil.rmtree(server.settings.artifacts_dir)
    checkpoint = next(c for c in client.fine_tuning.jobs.checkpoints.list(job.id) if c.step_number == 10)
    question = [{"role": "user", "content": "Write a limerick."}]
    for model in (job.fine_tuned_model, checkpoint.fine_tuned_model_checkpoint):
        answer = client.chat.completions.create(model=model, messages=question, max_tokens=5)
        assert answer.choices[0].message.content
    assert not server.settings.artifacts_dir.exists()
    assert len(list(server.settings.artifact_cache_dir.iterdir())) == 2


def test_an_upload_of_parts_larger_and_smaller_than_an_s3_part_is_joined_in_order(
    client: openai.OpenAI, bucket: S3BlobStore
):
    pieces = [os.urandom(MIN_PART_BYTES + 1), b"between\n", os.urandom(MIN_PART_BYTES + 2), b"end"]
    content = b"".join(pieces)
    created = client.uploads.create(
        bytes=len(content), filename="big.bin", mime_type="application/octet-stream", purpose="user_data"
    )
    parts = [client.uploads.parts.create(created.id, data=piece).id for piece in pieces]
    done = client.uploads.complete(created.id, part_ids=parts, md5=hashlib.md5(content).hexdigest())
    assert done.status == "completed" and done.file is not None
    assert client.files.content(done.file.id).read() == content
    objects, uploads = state(bucket)
    assert uploads == [] and not any(part in objects for part in parts)  # the parts are dropped
