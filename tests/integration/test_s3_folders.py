"""Adapter, checkpoint and state folders published to the bucket and fetched into a local cache
keyed by their content (gateway.storage.folders.BucketFolders), against moto's S3 server."""

import shutil
from pathlib import Path

import pytest

from gateway.storage.folders import BucketFolders
from tests.support.s3 import S3Server

pytestmark = pytest.mark.s3


@pytest.fixture
def folders(s3_server: S3Server, tmp_path: Path) -> BucketFolders:
    return BucketFolders(s3_server.new_store(), tmp_path / "scratch", tmp_path / "cache")


def make_folder(folders: BucketFolders, name: str, files: dict[str, bytes]) -> Path:
    folder = folders.scratch / name
    shutil.rmtree(folder, ignore_errors=True)
    for relative, content in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(content)
    return folder


def contents(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def bucket_keys(folders: BucketFolders) -> list[str]:
    listed = folders.blobs.client.list_objects_v2(Bucket=folders.blobs.bucket).get("Contents", [])
    return sorted(item["Key"] for item in listed)


ADAPTER = {"adapter_config.json": b'{"r": 8}', "adapter_model.safetensors": b"\x00" * 1000, "sub/x": b"x"}


def test_a_published_folder_is_fetched_with_its_content_elsewhere(folders: BucketFolders):
    folders.publish("ftjob-a/model", make_folder(folders, "ftjob-a/model", ADAPTER))
    shutil.rmtree(folders.scratch)  # another node: nothing of the trainer's folder here
    fetched = folders.fetch("ftjob-a/model")
    assert fetched is not None and fetched.parent == folders.cache
    assert contents(fetched) == ADAPTER
    assert folders.fetch("ftjob-a/model") == fetched  # cached: the same folder, not fetched again


def test_new_content_under_the_same_name_is_a_new_cache_folder_and_the_old_objects_go(
    folders: BucketFolders,
):
    folders.publish("ftjob-a/states/latest", make_folder(folders, "s", {"state.pt": b"one"}))
    first = folders.fetch("ftjob-a/states/latest")
    before = bucket_keys(folders)
    folders.publish("ftjob-a/states/latest", make_folder(folders, "s", {"state.pt": b"two"}))
    second = folders.fetch("ftjob-a/states/latest")
    assert first != second and second is not None and contents(second) == {"state.pt": b"two"}
    assert len(bucket_keys(folders)) == len(before)  # the old content's object was deleted


def test_nothing_published_is_none(folders: BucketFolders):
    assert folders.fetch("ftjob-none/model") is None


def test_remove_drops_the_scratch_copy_and_the_objects_and_can_repeat(folders: BucketFolders):
    folder = make_folder(folders, "ftjob-a/checkpoints/step-3", ADAPTER)
    folders.publish("ftjob-a/checkpoints/step-3", folder)
    folders.remove("ftjob-a/checkpoints/step-3")
    folders.remove("ftjob-a/checkpoints/step-3")
    assert not folder.exists() and bucket_keys(folders) == []
    assert folders.fetch("ftjob-a/checkpoints/step-3") is None


def test_published_lists_the_names_with_a_suffix(folders: BucketFolders):
    for name in ("ftjob-a/states/latest", "ftjob-b/states/latest", "ftjob-b/model"):
        folders.publish(name, make_folder(folders, name, {"f": name.encode()}))
    assert sorted(folders.published("/states/latest")) == ["ftjob-a/states/latest", "ftjob-b/states/latest"]


def test_an_object_that_does_not_match_its_manifest_is_refused(folders: BucketFolders):
    folders.publish("ftjob-a/model", make_folder(folders, "ftjob-a/model", {"f": b"right"}))
    [data_key] = [key for key in bucket_keys(folders) if not key.endswith(".manifest.json")]
    folders.blobs.client.put_object(Bucket=folders.blobs.bucket, Key=data_key, Body=b"wrong")
    with pytest.raises(OSError, match="does not match"):
        folders.fetch("ftjob-a/model")
    assert [p for p in folders.cache.iterdir()] == []  # no half-fetched folder left behind
