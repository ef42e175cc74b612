from pathlib import Path

import pytest

from gateway.storage.local import LocalBlobStore


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_commit_makes_the_blob_readable(store):
    writer = store.writer("file-abc")
    writer.write(b"hello ")
    writer.write(b"world")
    with pytest.raises(FileNotFoundError):
        store.open("file-abc")  # not visible before commit
    writer.commit()
    with store.open("file-abc") as blob:
        assert blob.read() == b"hello world"
    assert [path.name for path in files_under(store.root)] == ["file-abc"]


def test_abort_leaves_nothing(store):
    writer = store.writer("file-abc")
    writer.write(b"partial")
    assert len(files_under(store.root)) == 1  # the temporary file exists while writing
    writer.abort()
    assert files_under(store.root) == []
    with pytest.raises(FileNotFoundError):
        store.open("file-abc")


def test_commit_replaces_an_existing_blob(store):
    for content in (b"first", b"second"):
        writer = store.writer("file-abc")
        writer.write(content)
        writer.commit()
    with store.open("file-abc") as blob:
        assert blob.read() == b"second"


def test_delete_is_idempotent(store):
    writer = store.writer("file-abc")
    writer.write(b"x")
    writer.commit()
    store.delete("file-abc")
    store.delete("file-abc")
    store.delete("file-never-written")
    assert files_under(store.root) == []


@pytest.mark.parametrize("key", ["", "a/b", "../etc", ".partial-x", "/abs"])
@pytest.mark.parametrize("operation", ["writer", "open", "delete"])
def test_unsafe_keys_are_refused(store, tmp_path, key, operation):
    with pytest.raises(ValueError, match="invalid blob key"):
        getattr(store, operation)(key)
    assert files_under(tmp_path) == []
