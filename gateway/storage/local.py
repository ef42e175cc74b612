"""Blobs as files under a local folder, written to a temporary name and renamed on commit."""

import os
import tempfile
from pathlib import Path
from typing import BinaryIO


class LocalBlobWriter:
    def __init__(self, final_path: Path) -> None:
        self._final_path = final_path
        final_path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=final_path.parent, prefix=".partial-")
        self._temp_path = Path(temp_name)
        self._file = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)

    def commit(self) -> None:
        self._file.close()
        os.replace(self._temp_path, self._final_path)

    def abort(self) -> None:
        self._file.close()
        self._temp_path.unlink(missing_ok=True)


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"invalid blob key: {key!r}")
        return self.root / key[-2:] / key

    def writer(self, key: str) -> LocalBlobWriter:
        return LocalBlobWriter(self._path(key))

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
