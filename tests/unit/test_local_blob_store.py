import multiprocessing
import os
import signal
import time
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


def partials(root: Path) -> list[Path]:
    return sorted(root.rglob(".partial-*"))


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def write_and_die(root: Path) -> None:
    """A process killed in the middle of a blob: no commit, no abort, no clean exit."""
    writer = LocalBlobStore(root).writer("file-dead")
    writer.write(b"half a file")
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_blob_whose_writer_died_is_removed(store):
    child = multiprocessing.get_context("spawn").Process(target=write_and_die, args=(store.root,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL
    [partial] = partials(store.root)
    age(partial, 3600)
    assert store.remove_abandoned_writes() == 1
    assert files_under(store.root) == []


def test_a_blob_being_written_keeps_its_partial_however_old(store):
    writer = store.writer("file-abc")
    writer.write(b"hello ")
    [partial] = partials(store.root)
    age(partial, 86400)  # a client that stalled for a day: only the writer's lock protects it
    assert store.remove_abandoned_writes(min_age_seconds=0) == 0
    assert LocalBlobStore(store.root).remove_abandoned_writes(min_age_seconds=0) == 0
    writer.write(b"world")
    writer.commit()
    with store.open("file-abc") as blob:
        assert blob.read() == b"hello world"
    assert partials(store.root) == []


def test_a_young_unlocked_partial_is_left_for_its_writer_to_lock(store):
    (store.root / ".partials").mkdir(parents=True)
    (store.root / ".partials" / ".partial-new").write_bytes(b"")
    assert store.remove_abandoned_writes() == 0
    assert len(partials(store.root)) == 1


def test_partials_left_beside_the_blobs_by_older_versions_are_removed_once(store):
    writer = store.writer("file-abc")
    writer.write(b"x")
    writer.commit()
    legacy = store.root / "bc" / ".partial-old"
    legacy.write_bytes(b"left by a crash")
    age(legacy, 3600)
    assert store.remove_abandoned_writes() == 1
    assert [path.name for path in files_under(store.root)] == ["file-abc"]
