"""Files API through the official SDK: upload, list and page, retrieve, content, delete."""

import openai
import pytest

from tests.support.jobs import DATA, upload

pytestmark = pytest.mark.s3


def test_upload_is_processed_with_the_original_bytes(client: openai.OpenAI):
    with open(DATA / "elle-limericks.jsonl", "rb") as training_data:
        created = client.files.create(file=training_data, purpose="fine-tune")
    assert created.filename == "elle-limericks.jsonl"
    assert created.bytes == (DATA / "elle-limericks.jsonl").stat().st_size
    assert created.purpose == "fine-tune"
    assert created.id.startswith("file-") and len(created.id) == 27
    assert client.files.wait_for_processing(created.id, poll_interval=0.1).status == "processed"
    assert client.files.retrieve(created.id).model_dump() == created.model_dump()
    assert client.files.content(created.id).content == (DATA / "elle-limericks.jsonl").read_bytes()


def test_validation_report_is_kept_with_the_file(client: openai.OpenAI):
    file_id = upload(client, "marv-weighted.jsonl")
    report = client.get(f"/files/{file_id}/validation", cast_to=object)
    assert report["file_id"] == file_id
    assert report["format"] == "chat"
    assert report["n_examples"] == 3
    assert report["issues"] == []
    assert report["total_tokens"] > report["assistant_tokens"] > 0


def test_list_pages_newest_first_with_auto_pagination(client: openai.OpenAI):
    ids = [upload(client, f"f{i}.jsonl", b"") for i in range(5)]
    page = client.files.list(limit=2)
    assert [f.id for f in page.data] == ids[::-1][:2]
    assert page.has_more is True
    assert [f.id for f in client.files.list(limit=2)] == ids[::-1]
    assert [f.id for f in client.files.list(limit=2, order="asc")] == ids


def test_list_filters_by_purpose(client: openai.OpenAI):
    tuned = upload(client, "a.jsonl", b"")
    batch = upload(client, "b.jsonl", b"{}\n", purpose="batch")
    assert [f.id for f in client.files.list(purpose="fine-tune")] == [tuned]
    assert [f.id for f in client.files.list(purpose="batch")] == [batch]


def test_batch_files_expire_after_30_days_by_default(client: openai.OpenAI):
    created = client.files.create(file=("b.jsonl", b"{}\n"), purpose="batch")
    assert created.expires_at == created.created_at + 30 * 24 * 3600


def test_expires_after_sets_expires_at(client: openai.OpenAI):
    created = client.files.create(
        file=("u.txt", b"hello"), purpose="user_data", expires_after={"anchor": "created_at", "seconds": 3600}
    )
    assert created.expires_at == created.created_at + 3600


@pytest.mark.parametrize("seconds", [10, 2_592_001])
def test_expires_after_out_of_range_is_refused(client: openai.OpenAI, seconds: int):
    with pytest.raises(openai.BadRequestError) as raised:
        client.files.create(
            file=("u.txt", b"hello"),
            purpose="user_data",
            expires_after={"anchor": "created_at", "seconds": seconds},
        )
    assert raised.value.param == "expires_after[seconds]"


def test_delete_removes_file_and_content(client: openai.OpenAI):
    file_id = upload(client, "elle-limericks.jsonl")
    deleted = client.files.delete(file_id)
    assert (deleted.id, deleted.deleted, deleted.object) == (file_id, True, "file")
    with pytest.raises(openai.NotFoundError) as raised:
        client.files.retrieve(file_id)
    assert raised.value.body == {
        "message": f"No such File object: {file_id}",
        "type": "invalid_request_error",
        "param": "id",
        "code": None,
    }
    with pytest.raises(openai.NotFoundError):
        client.files.content(file_id)
    with pytest.raises(openai.NotFoundError):
        client.files.delete(file_id)


def test_unknown_after_cursor_is_a_400(client: openai.OpenAI):
    with pytest.raises(openai.BadRequestError) as raised:
        client.files.list(after="file-doesnotexist")
    assert raised.value.param == "after"
