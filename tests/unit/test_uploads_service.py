"""The Uploads API's pure rules: statuses and expiry, the parts a completion names, md5, limits."""

import hashlib

import pytest

from gateway.errors import InvalidRequest
from gateway.files.upload import store_concatenation
from gateway.files.validator_pool import ValidatorPool
from gateway.models import StoredUpload, StoredUploadPart
from gateway.settings import Settings
from gateway.storage.local import LocalBlobStore
from gateway.uploads.service import (
    LIFETIME_SECONDS,
    check_md5,
    file_fields,
    order_parts,
    require_pending,
    status_of,
)

CREATED = 1_000_000


def upload(status: str = "pending", size: int = 10, expires_after: int | None = None) -> StoredUpload:
    return StoredUpload(
        id="upload_a",
        purpose="fine-tune",
        filename="t.jsonl",
        bytes=size,
        status=status,
        created_at=CREATED,
        expires_at=CREATED + LIFETIME_SECONDS,
        expires_after_seconds=expires_after,
    )


def part(part_id: str, size: int) -> StoredUploadPart:
    return StoredUploadPart(id=part_id, upload_id="upload_a", bytes=size, created_at=CREATED)


def test_defaults_are_openais_limits():
    settings = Settings()
    assert settings.max_upload_part_bytes == 64 * 1024 * 1024
    assert settings.max_chunked_upload_bytes == 8 * 1024 * 1024 * 1024
    assert LIFETIME_SECONDS == 3600


def test_a_pending_upload_reads_as_expired_from_its_expiry_on():
    assert status_of(upload(), CREATED + LIFETIME_SECONDS - 1) == "pending"
    assert status_of(upload(), CREATED + LIFETIME_SECONDS) == "expired"
    assert status_of(upload("completed"), CREATED + 10 * LIFETIME_SECONDS) == "completed"
    assert status_of(upload("cancelled"), CREATED) == "cancelled"


@pytest.mark.parametrize(
    ("status", "now", "code"),
    [
        ("pending", CREATED + LIFETIME_SECONDS, "upload_expired"),
        ("completed", CREATED, "upload_completed"),
        ("cancelled", CREATED, "upload_cancelled"),
    ],
)
def test_only_a_pending_upload_takes_parts(status: str, now: int, code: str):
    require_pending(upload(), CREATED)
    with pytest.raises(InvalidRequest) as refused:
        require_pending(upload(status), now)
    assert (refused.value.param, refused.value.code) == ("upload_id", code)


def test_parts_come_in_the_order_named_and_unnamed_parts_are_left_out():
    a, b, c = part("part_a", 4), part("part_b", 6), part("part_c", 6)
    assert order_parts(upload(), ["part_b", "part_a"], [a, b, c]) == [b, a]


@pytest.mark.parametrize(
    ("part_ids", "fragment"),
    [
        ([], "at least one"),
        (["part_a", "part_a", "part_b"], "named more than once: part_a"),
        (["part_a", "part_x"], "no such part in upload upload_a: part_x"),
        (["part_a"], "have 4 bytes together, but the upload was created for 10 bytes"),
        (["part_a", "part_b", "part_c"], "have 16 bytes together"),
    ],
)
def test_a_completion_names_each_part_of_the_upload_once_adding_up_to_its_bytes(part_ids, fragment):
    found = [part("part_a", 4), part("part_b", 6), part("part_c", 6)]
    with pytest.raises(InvalidRequest) as refused:
        order_parts(upload(), part_ids, [p for p in found if p.id in part_ids])
    assert refused.value.param == "part_ids"
    assert fragment in refused.value.message


def test_md5_is_compared_when_given_in_any_case():
    check_md5(None, "abc")
    check_md5("ABC", "abc")
    with pytest.raises(InvalidRequest) as refused:
        check_md5("abd", "abc")
    assert refused.value.param == "md5"


def test_the_file_gets_the_fields_a_files_upload_would_have():
    assert file_fields(upload()) == {"purpose": "fine-tune"}
    assert file_fields(upload(expires_after=7200)) == {
        "purpose": "fine-tune",
        "expires_after[anchor]": "created_at",
        "expires_after[seconds]": "7200",
    }


async def test_concatenation_streams_the_parts_in_order_into_a_new_blob(tmp_path):
    blobs = LocalBlobStore(tmp_path)
    for key, content in (("part_one", b"hello "), ("part_two", b"world")):
        writer = blobs.writer(key)
        writer.write(content)
        writer.commit()
    pool = ValidatorPool(1)
    try:
        received, md5 = await store_concatenation(
            sources=[("part_two", 5), ("part_one", 6)],
            blobs=blobs,
            blob_key="file-x",
            fields={"purpose": "user_data"},
            filename="u.txt",
            max_bytes=100,
            validators=pool,
        )
        assert (received.size, received.filename, received.report) == (11, "u.txt", None)
        assert md5 == hashlib.md5(b"worldhello ").hexdigest()
        with blobs.open("file-x") as stored:
            assert stored.read() == b"worldhello "
        with pytest.raises(FileNotFoundError):
            await store_concatenation(
                sources=[("part_one", 6), ("part_gone", 1)],
                blobs=blobs,
                blob_key="file-y",
                fields={"purpose": "user_data"},
                filename="u.txt",
                max_bytes=100,
                validators=pool,
            )
        assert not (tmp_path / "-y" / "file-y").exists()
        assert list((tmp_path / ".partials").iterdir()) == []
    finally:
        pool.close()
