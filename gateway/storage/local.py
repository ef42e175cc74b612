"""Blobs as files under a local folder, written to a temporary name and renamed on commit.

A blob being written is `.partial-*` in `.partials/` under the root, locked (flock) by its writer
until it is committed or aborted; see `LocalBlobStore.remove_abandoned_writes`.
"""

import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import anyio

PARTIAL_PREFIX = ".partial-"
PARTIALS_DIR = ".partials"
# A partial younger than this is left alone even when unlocked: it covers the instant between its
# creation and its writer's lock.
ABANDONED_MIN_AGE_SECONDS = 60.0


class LocalBlobWriter:
    def __init__(self, final_path: Path, partials_dir: Path) -> None:
        self._final_path = final_path
        final_path.parent.mkdir(parents=True, exist_ok=True)
        partials_dir.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=partials_dir, prefix=PARTIAL_PREFIX)
        # Held until the file is closed, also by a process that dies: the sweeper's proof of life.
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._temp_path = Path(temp_name)
        self._file = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)

    def commit(self) -> None:
        self._file.flush()
        os.replace(self._temp_path, self._final_path)  # still locked: never seen unlocked as partial
        self._file.close()

    def abort(self) -> None:
        self._temp_path.unlink(missing_ok=True)
        self._file.close()

    def splice(self, key: str, size: int) -> bool:
        return False


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._partials = root / PARTIALS_DIR
        self._swept_legacy = False

    def _path(self, key: str) -> Path:
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"invalid blob key: {key!r}")
        return self.root / key[-2:] / key

    def writer(self, key: str) -> LocalBlobWriter:
        return LocalBlobWriter(self._path(key), self._partials)

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def check(self) -> None:
        """The folder exists (or can be made) and a file can be written in it."""
        await anyio.to_thread.run_sync(self._write_probe)

    def _write_probe(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=self.root):
            pass

    def remove_abandoned_writes(self, min_age_seconds: float = ABANDONED_MIN_AGE_SECONDS) -> int:
        """Delete the partial blobs that no writer holds any more (a process killed mid-upload),
        and say how many.

        A writer holds an exclusive flock on its partial from the moment it creates it until it
        commits or aborts; the kernel drops the lock when the file is closed or its process dies,
        however it dies (SIGKILL, OOM, a lost container). So a partial whose lock can be taken
        has no live writer, in this process or another one on the same host (flock locks belong
        to the open file, so a writer in this very process blocks the sweeper too). A lock
        rather than the file's age: an upload in flight may be stalled by a slow client for any
        time and must keep its partial. The age floor only covers the instant between the
        partial's creation and its writer's lock. Folders shared over NFS need flock carried to
        the server (Linux does, as POSIX locks).

        The first sweep in a process also looks through the blob folders themselves, where
        partials were written before they had a folder of their own.
        """
        cutoff = time.time() - min_age_seconds
        candidates = list(self._candidates(self._partials))
        if not self._swept_legacy:
            self._swept_legacy = True
            shards = (entry for entry in _scan(self.root) if entry.is_dir() and entry.name != PARTIALS_DIR)
            candidates += [partial for shard in shards for partial in self._candidates(Path(shard.path))]
        return sum(_remove_if_abandoned(path, cutoff) for path in candidates)

    @staticmethod
    def _candidates(folder: Path) -> Iterator[Path]:
        for entry in _scan(folder):
            if entry.name.startswith(PARTIAL_PREFIX) and entry.is_file(follow_symlinks=False):
                yield Path(entry.path)


def _scan(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except FileNotFoundError:
        return []


def _remove_if_abandoned(path: Path, cutoff: float) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False  # committed or aborted meanwhile
    try:
        if os.fstat(fd).st_mtime > cutoff:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a writer holds it: an upload in flight
        # Locked by us now, so no writer can be using this file; it may have been committed
        # (renamed) between the open and the lock, so remove it only if it is still the partial.
        if not path.exists() or not os.path.samestat(os.fstat(fd), os.stat(path)):
            return False
        path.unlink()
        return True
    finally:
        os.close(fd)
