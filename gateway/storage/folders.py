"""Folders the local trainer makes (adapters, checkpoints, training states), named by their path
under the artifacts folder (`gateway.artifacts`), and how other processes reach them.

`SharedFolders`: the artifacts folder is itself shared (the embedded default, or a volume every
node mounts); publishing is a no-op and a fetch is the folder itself.

`BucketFolders` (S3 storage): the artifacts folder is only this node's scratch. A published
folder's files become objects named by their content, then a manifest (relative path → sha256)
names them; the manifest, written last in one PUT, is what makes the folder exist. A fetch
copies a folder into a local cache keyed by its manifest's digest, so a folder published again
with other content is fetched again, and the same content never twice.
"""

import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from gateway.storage.s3 import S3BlobStore, unavailable_as_oserror

MANIFEST = ".manifest.json"
READ_BYTES = 1024 * 1024


class FolderStore(Protocol):
    def publish(self, name: str, folder: Path) -> None:
        """Make `folder` (under the artifacts folder) reachable from every process as `name`."""

    def fetch(self, name: str) -> Path | None:
        """A local folder with the content published as `name`; None when there is none."""

    def remove(self, name: str) -> None:
        """Drop `name`, here and where it was published; safe to repeat."""

    def published(self, suffix: str) -> list[str]:
        """The names published elsewhere than the local folder that end with `suffix`."""


class SharedFolders:
    def __init__(self, root: Path) -> None:
        self.root = root

    def publish(self, name: str, folder: Path) -> None:
        pass

    def fetch(self, name: str) -> Path | None:
        folder = self.root / name
        return folder if folder.is_dir() else None

    def remove(self, name: str) -> None:
        shutil.rmtree(self.root / name, ignore_errors=True)

    def published(self, suffix: str) -> list[str]:
        return []


class BucketFolders:
    def __init__(self, blobs: S3BlobStore, scratch: Path, cache: Path, area: str = "artifacts/") -> None:
        self.blobs = blobs
        self.scratch = scratch
        self.cache = cache
        self.area = area

    def _manifest_key(self, name: str) -> str:
        return f"{self.area}{name}{MANIFEST}"

    def _file_key(self, name: str, digest: str) -> str:
        return f"{self.area}{name}/{digest}"

    def publish(self, name: str, folder: Path) -> None:
        manifest = {}
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest = _sha256(path)
            manifest[path.relative_to(folder).as_posix()] = digest
            with path.open("rb") as source:
                _copy_into(self.blobs, self._file_key(name, digest), source)
        old = self._manifest(name)
        listing = json.dumps(manifest, sort_keys=True).encode()
        _copy_into(self.blobs, self._manifest_key(name), io.BytesIO(listing))
        for digest in set(old.values() if old else ()) - set(manifest.values()):
            self.blobs.delete(self._file_key(name, digest))

    @unavailable_as_oserror()  # a read cut off mid-object too
    def fetch(self, name: str) -> Path | None:
        try:
            with self.blobs.open(self._manifest_key(name)) as found:
                raw = found.read()
        except FileNotFoundError:
            return None
        target = self.cache / hashlib.sha256(raw).hexdigest()
        if target.is_dir():
            return target
        self.cache.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=self.cache, prefix=".partial-"))
        try:
            for relative, digest in json.loads(raw).items():
                path = work / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                with self.blobs.open(self._file_key(name, digest)) as source, path.open("wb") as out:
                    shutil.copyfileobj(source, out, READ_BYTES)
                if _sha256(path) != digest:
                    raise OSError(f"artifact {name}/{relative} does not match its manifest")
            try:
                os.rename(work, target)
            except OSError:
                if not target.is_dir():  # another fetch of the same content won the race
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return target

    def remove(self, name: str) -> None:
        shutil.rmtree(self.scratch / name, ignore_errors=True)
        manifest = self._manifest(name)
        if manifest is None:
            return
        self.blobs.delete(self._manifest_key(name))
        for digest in set(manifest.values()):
            self.blobs.delete(self._file_key(name, digest))

    def published(self, suffix: str) -> list[str]:
        ending = suffix + MANIFEST
        return [
            key[len(self.area) : -len(MANIFEST)] for key in self.blobs.keys(self.area) if key.endswith(ending)
        ]

    @unavailable_as_oserror()
    def _manifest(self, name: str) -> dict[str, str] | None:
        try:
            with self.blobs.open(self._manifest_key(name)) as found:
                return json.loads(found.read())
        except FileNotFoundError:
            return None


def _sha256(path: Path) -> str:
    with path.open("rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()


def _copy_into(blobs: S3BlobStore, key: str, source: BinaryIO) -> None:
    writer = blobs.writer(key)
    try:
        while chunk := source.read(READ_BYTES):
            writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    writer.commit()
