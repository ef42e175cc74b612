"""Uploads API through the official SDK: a file sent in parts becomes a normal file; parts sent in
parallel or retried, parts missing or mismatched at completion, expiry, cancellation and another
project's upload each have their outcome."""

import asyncio
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import openai
import pytest
from sqlalchemy import update

from gateway.models import StoredUpload
from gateway.runtime import build_runtime
from gateway.settings import Settings
from gateway.storage.choice import blob_store
from tests.conftest import TEST_MAX_CHUNKED_UPLOAD_BYTES, TEST_MAX_UPLOAD_PART_BYTES, ClientFactory
from tests.support.jobs import DATA, chat_lines, wait_until_validated
from tests.support.server import RunningServer

pytestmark = pytest.mark.s3

TRAINING = (DATA / "elle-limericks.jsonl").read_bytes()


def split(content: bytes, size: int) -> list[bytes]:
    return [content[start : start + size] for start in range(0, len(content), size)]


def create(client: openai.OpenAI, content: bytes, filename: str = "train.jsonl", **overrides):
    params = {"bytes": len(content), "filename": filename, "mime_type": "text/jsonl", "purpose": "fine-tune"}
    return client.uploads.create(**(params | overrides))


def blob_exists(server: RunningServer, key: str) -> bool:
    try:
        blob_store(server.settings).open(key).close()
    except FileNotFoundError:
        return False
    return True


def expire(settings: Settings, upload_id: str) -> None:
    """Move the upload's expiry into the past, as an hour's wait would."""

    async def run() -> None:
        runtime = build_runtime(settings, lambda *_: None)
        try:
            async with runtime.transaction() as session:
                await session.execute(
                    update(StoredUpload)
                    .where(StoredUpload.id == upload_id)
                    .values(expires_at=StoredUpload.created_at - 1)
                )
        finally:
            await runtime.close()

    asyncio.run(run())


def test_a_chunked_upload_becomes_a_file_that_a_job_trains_on(client: openai.OpenAI):
    upload = client.uploads.upload_file_chunked(
        file=TRAINING,
        filename="elle-limericks.jsonl",
        bytes=len(TRAINING),
        mime_type="text/jsonl",
        purpose="fine-tune",
        part_size=1000,
        md5=hashlib.md5(TRAINING).hexdigest(),
    )
    assert upload.id.startswith("upload_") and upload.object == "upload"
    assert (upload.status, upload.bytes, upload.filename) == (
        "completed",
        len(TRAINING),
        "elle-limericks.jsonl",
    )
    assert upload.expires_at == upload.created_at + 3600
    assert upload.file is not None
    file = upload.file
    assert (file.bytes, file.filename, file.purpose, file.status) == (
        len(TRAINING),
        "elle-limericks.jsonl",
        "fine-tune",
        "processed",
    )
    assert client.files.retrieve(file.id).model_dump() == file.model_dump()
    assert client.files.content(file.id).content == TRAINING
    report = client.get(f"/files/{file.id}/validation", cast_to=object)
    assert (report["n_examples"], report["issues"]) == (10, [])

    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file.id)
    assert job.training_file == file.id
    assert wait_until_validated(client, job.id).status == "queued"


def test_a_file_on_disk_goes_up_with_its_name(client: openai.OpenAI, tmp_path: Path):
    path = tmp_path / "marv.jsonl"
    path.write_bytes((DATA / "marv-weighted.jsonl").read_bytes())
    upload = client.uploads.upload_file_chunked(
        file=path, mime_type="text/jsonl", purpose="fine-tune", part_size=300
    )
    assert upload.file is not None and upload.file.filename == "marv.jsonl"
    assert client.files.content(upload.file.id).content == path.read_bytes()


def test_a_new_upload_is_pending_with_no_file(client: openai.OpenAI):
    upload = create(client, TRAINING, expires_after={"anchor": "created_at", "seconds": 7200})
    assert (upload.status, upload.file) == ("pending", None)
    part = client.uploads.parts.create(upload_id=upload.id, data=TRAINING)
    assert part.id.startswith("part_") and part.object == "upload.part" and part.upload_id == upload.id
    done = client.uploads.complete(upload_id=upload.id, part_ids=[part.id])
    assert done.file is not None and done.file.expires_at == done.file.created_at + 7200


def test_parts_sent_in_parallel_are_joined_in_the_order_named(client: openai.OpenAI):
    pieces = split(TRAINING, len(TRAINING) // 4 + 1)
    assert len(pieces) == 4
    upload = create(client, TRAINING)
    with ThreadPoolExecutor(len(pieces)) as pool:
        # Sent last piece first, all at once; their order is the one `part_ids` gives.
        parts = list(
            pool.map(lambda data: client.uploads.parts.create(upload_id=upload.id, data=data), pieces[::-1])
        )
    done = client.uploads.complete(upload_id=upload.id, part_ids=[part.id for part in parts[::-1]])
    assert done.file is not None
    assert client.files.content(done.file.id).content == TRAINING


def test_a_retried_part_is_used_once_and_the_unused_copy_is_dropped(
    server: RunningServer, client: openai.OpenAI
):
    first, second = split(TRAINING, 2500)
    upload = create(client, TRAINING)
    lost = client.uploads.parts.create(upload_id=upload.id, data=first)  # its answer never arrived
    retried = client.uploads.parts.create(upload_id=upload.id, data=first)
    rest = client.uploads.parts.create(upload_id=upload.id, data=second)
    assert blob_exists(server, lost.id)
    done = client.uploads.complete(upload_id=upload.id, part_ids=[retried.id, rest.id])
    assert done.file is not None and client.files.content(done.file.id).content == TRAINING
    assert not any(blob_exists(server, part.id) for part in (lost, retried, rest))


def test_a_part_missing_at_completion_is_a_400_and_the_upload_stays_pending(make_client: ClientFactory):
    client = make_client()
    first, second = split(TRAINING, 2500)
    upload = create(client, TRAINING)
    other = create(client, TRAINING)
    head = client.uploads.parts.create(upload_id=upload.id, data=first)
    elsewhere = client.uploads.parts.create(upload_id=other.id, data=second)
    for part_ids in ([head.id, "part_unknown"], [head.id, elsewhere.id]):
        with pytest.raises(openai.BadRequestError) as raised:
            client.uploads.complete(upload_id=upload.id, part_ids=part_ids)
        assert raised.value.param == "part_ids"
        assert part_ids[1] in raised.value.message
    with pytest.raises(openai.BadRequestError) as raised:
        client.uploads.complete(upload_id=upload.id, part_ids=[head.id, head.id])
    assert raised.value.param == "part_ids"
    tail = client.uploads.parts.create(upload_id=upload.id, data=second)
    done = client.uploads.complete(upload_id=upload.id, part_ids=[head.id, tail.id])
    assert done.file is not None and client.files.content(done.file.id).content == TRAINING


def test_parts_that_do_not_add_up_to_the_declared_bytes_are_a_400(client: openai.OpenAI):
    upload = create(client, TRAINING)
    short = client.uploads.parts.create(upload_id=upload.id, data=TRAINING[:-1])
    with pytest.raises(openai.BadRequestError) as raised:
        client.uploads.complete(upload_id=upload.id, part_ids=[short.id])
    assert raised.value.param == "part_ids"
    assert (
        f"{len(TRAINING) - 1} bytes" in raised.value.message
        and f"{len(TRAINING)} bytes" in raised.value.message
    )
    long = client.uploads.parts.create(upload_id=upload.id, data=TRAINING + b"\n")
    with pytest.raises(openai.BadRequestError):
        client.uploads.complete(upload_id=upload.id, part_ids=[long.id])
    assert list(client.files.list()) == []


def test_a_wrong_md5_is_a_400_and_the_right_one_completes(client: openai.OpenAI):
    upload = create(client, TRAINING)
    part = client.uploads.parts.create(upload_id=upload.id, data=TRAINING)
    with pytest.raises(openai.BadRequestError) as raised:
        client.uploads.complete(upload_id=upload.id, part_ids=[part.id], md5="0" * 32)
    assert raised.value.param == "md5"
    assert list(client.files.list()) == []
    done = client.uploads.complete(
        upload_id=upload.id, part_ids=[part.id], md5=hashlib.md5(TRAINING).hexdigest()
    )
    assert done.status == "completed"


def test_an_expired_upload_takes_no_parts_and_cannot_complete(server: RunningServer, client: openai.OpenAI):
    upload = create(client, TRAINING)
    part = client.uploads.parts.create(upload_id=upload.id, data=TRAINING)
    expire(server.settings, upload.id)
    for call in (
        lambda: client.uploads.parts.create(upload_id=upload.id, data=b"more"),
        lambda: client.uploads.complete(upload_id=upload.id, part_ids=[part.id]),
        lambda: client.uploads.cancel(upload.id),
    ):
        with pytest.raises(openai.BadRequestError) as raised:
            call()
        assert (raised.value.param, raised.value.code) == ("upload_id", "upload_expired")
    # The reconciler (every second here) drops the expired upload's parts.
    deadline = time.monotonic() + 10
    while blob_exists(server, part.id):
        assert time.monotonic() < deadline, "the expired upload's part is still stored"
        time.sleep(0.05)


def test_a_cancelled_upload_drops_its_parts_and_takes_no_more(server: RunningServer, client: openai.OpenAI):
    upload = create(client, TRAINING)
    part = client.uploads.parts.create(upload_id=upload.id, data=TRAINING)
    cancelled = client.uploads.cancel(upload.id)
    assert (cancelled.id, cancelled.status, cancelled.file) == (upload.id, "cancelled", None)
    assert not blob_exists(server, part.id)
    assert client.uploads.cancel(upload.id).status == "cancelled"
    for call in (
        lambda: client.uploads.parts.create(upload_id=upload.id, data=b"more"),
        lambda: client.uploads.complete(upload_id=upload.id, part_ids=[part.id]),
    ):
        with pytest.raises(openai.BadRequestError) as raised:
            call()
        assert (raised.value.param, raised.value.code) == ("upload_id", "upload_cancelled")


def test_a_completed_upload_cannot_complete_again_or_be_cancelled(client: openai.OpenAI):
    upload = create(client, TRAINING)
    part = client.uploads.parts.create(upload_id=upload.id, data=TRAINING)
    client.uploads.complete(upload_id=upload.id, part_ids=[part.id])
    for call in (
        lambda: client.uploads.complete(upload_id=upload.id, part_ids=[part.id]),
        lambda: client.uploads.cancel(upload.id),
        lambda: client.uploads.parts.create(upload_id=upload.id, data=b"more"),
    ):
        with pytest.raises(openai.BadRequestError) as raised:
            call()
        assert raised.value.code == "upload_completed"
    assert len(list(client.files.list())) == 1


def test_another_projects_upload_is_404_like_an_unknown_one(make_client: ClientFactory):
    owner, stranger = make_client(), make_client()
    upload = create(owner, TRAINING)
    part = owner.uploads.parts.create(upload_id=upload.id, data=TRAINING)
    for upload_id in (upload.id, "upload_unknown"):
        for call in (
            lambda upload_id=upload_id: stranger.uploads.parts.create(upload_id=upload_id, data=TRAINING),
            lambda upload_id=upload_id: stranger.uploads.complete(upload_id=upload_id, part_ids=[part.id]),
            lambda upload_id=upload_id: stranger.uploads.cancel(upload_id),
        ):
            with pytest.raises(openai.NotFoundError) as raised:
                call()
            assert raised.value.body == {
                "message": f"No such Upload object: {upload_id}",
                "type": "invalid_request_error",
                "param": "upload_id",
                "code": None,
            }
    done = owner.uploads.complete(upload_id=upload.id, part_ids=[part.id])
    assert done.status == "completed"


def test_a_part_over_the_limit_is_a_413_and_stores_nothing(client: openai.OpenAI):
    upload = create(client, b"x" * (TEST_MAX_UPLOAD_PART_BYTES + 1), filename="big.txt", purpose="user_data")
    with pytest.raises(openai.APIStatusError) as raised:
        client.uploads.parts.create(upload_id=upload.id, data=b"x" * (TEST_MAX_UPLOAD_PART_BYTES + 1))
    assert (raised.value.status_code, raised.value.body["param"]) == (413, "data")
    at_limit = client.uploads.parts.create(upload_id=upload.id, data=b"x" * TEST_MAX_UPLOAD_PART_BYTES)
    last = client.uploads.parts.create(upload_id=upload.id, data=b"x")
    done = client.uploads.complete(upload_id=upload.id, part_ids=[at_limit.id, last.id])
    assert done.file is not None and done.file.bytes == TEST_MAX_UPLOAD_PART_BYTES + 1


def test_an_upload_holds_at_most_its_limit(client: openai.OpenAI):
    with pytest.raises(openai.BadRequestError) as raised:
        create(client, b"", bytes=TEST_MAX_CHUNKED_UPLOAD_BYTES + 1)
    assert raised.value.param == "bytes"
    upload = create(client, b"", bytes=TEST_MAX_CHUNKED_UPLOAD_BYTES, filename="big.txt", purpose="user_data")
    chunk = b"x" * TEST_MAX_UPLOAD_PART_BYTES
    for _ in range(TEST_MAX_CHUNKED_UPLOAD_BYTES // TEST_MAX_UPLOAD_PART_BYTES):
        client.uploads.parts.create(upload_id=upload.id, data=chunk)
    with pytest.raises(openai.BadRequestError) as raised:
        client.uploads.parts.create(upload_id=upload.id, data=b"x")
    assert raised.value.param == "data"


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"purpose": "fine-tune-results"}, "purpose"),
        ({"filename": "train.csv"}, "filename"),
        ({"bytes": -1}, "bytes"),
        ({"expires_after": {"anchor": "created_at", "seconds": 10}}, "expires_after.seconds"),
    ],
)
def test_a_bad_create_is_a_400_naming_the_param(client: openai.OpenAI, overrides: dict, param: str):
    with pytest.raises(openai.BadRequestError) as raised:
        create(client, TRAINING, **overrides)
    assert raised.value.param == param


def test_a_completed_fine_tune_file_is_validated_like_an_upload(client: openai.OpenAI):
    content = chat_lines(3) + b"not json\n"
    upload = client.uploads.upload_file_chunked(
        file=content,
        filename="bad.jsonl",
        bytes=len(content),
        mime_type="text/jsonl",
        purpose="fine-tune",
        part_size=100,
    )
    assert upload.file is not None
    report = client.get(f"/files/{upload.file.id}/validation", cast_to=object)
    assert [issue["line"] for issue in report["issues"]] == [4]


def test_a_part_sent_as_a_plain_form_field_is_read_too(server: RunningServer, client: openai.OpenAI):
    """curl's `-F data=...` sends the part's bytes without a filename."""
    upload = create(client, TRAINING)
    boundary = "ftgate-plain-field"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="data"\r\n\r\n'.encode()
        + TRAINING
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = httpx2.post(
        f"{server.base_url}/v1/uploads/{upload.id}/parts",
        headers={
            "authorization": f"Bearer {client.api_key}",
            "content-type": f"multipart/form-data; boundary={boundary}",
        },
        content=body,
    )
    assert response.status_code == 200, response.text
    done = client.uploads.complete(upload_id=upload.id, part_ids=[response.json()["id"]])
    assert done.file is not None and client.files.content(done.file.id).content == TRAINING
