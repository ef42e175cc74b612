"""Merged weights kept on disk for the next download: one folder per adapter content and base
model, under `{artifacts_dir}/merged/`.

A merge holds a whole model in memory, so a process runs one at a time; a second request for the
same weights waits for it and then finds the folder. Each merge is built in a folder of its own
and renamed into place, so gateways sharing the artifacts folder never see half a merge (the
first rename wins). Beyond `kept` folders, the least recently used go, unless used within the
last minute: a download opens its files as soon as it has the folder, and reads them whole even
if the folder goes afterwards.
"""

import asyncio
import hashlib
import os
import secrets
import shutil
import time
from pathlib import Path

import anyio

from gateway.weights.tokenizer_files import tokenizer_files

BUILDING_PREFIX = ".building-"
IN_USE_SECONDS = 60.0
# A merge left half built by a process that died; no merge takes this long.
ABANDONED_BUILD_SECONDS = 6 * 3600.0


class MergedWeights:
    def __init__(self, root: Path, kept: int) -> None:
        self.root = root
        self.kept = kept
        self._merging = asyncio.Lock()

    async def folder(self, base: Path, adapter: Path) -> Path:
        """The merged model folder of `adapter` on `base`, built if it is not kept already."""
        folder = self.root / await anyio.to_thread.run_sync(content_key, base, adapter)
        if not await anyio.Path(folder).is_dir():
            async with self._merging:
                if not await anyio.Path(folder).is_dir():
                    await anyio.to_thread.run_sync(self._build, base, adapter, folder)
        await anyio.to_thread.run_sync(os.utime, folder)
        return folder

    def _build(self, base: Path, adapter: Path, folder: Path) -> None:
        # torch, peft and transformers: loaded only once a merge is asked for.
        from gateway.weights.merge import merge_adapter

        self.root.mkdir(parents=True, exist_ok=True)
        work = self.root / f"{BUILDING_PREFIX}{folder.name}-{secrets.token_hex(4)}"
        try:
            merge_adapter(base, adapter, work)
            for path in tokenizer_files(base):
                if not (work / path.name).exists():
                    shutil.copyfile(path, work / path.name)
            try:
                work.rename(folder)
            except OSError:
                if not folder.is_dir():
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self.evict(keep=folder)

    def evict(self, keep: Path) -> None:
        """Drops the least recently used merges beyond `kept` (`keep` counted), and abandoned builds."""
        now = time.time()
        others: list[tuple[float, Path]] = []
        for path in self.root.iterdir():
            age = now - path.stat().st_mtime
            if path.name.startswith(BUILDING_PREFIX):
                if age > ABANDONED_BUILD_SECONDS:
                    shutil.rmtree(path, ignore_errors=True)
            elif path != keep:
                others.append((age, path))
        for age, path in sorted(others)[self.kept - 1 :]:
            if age > IN_USE_SECONDS:
                shutil.rmtree(path, ignore_errors=True)


def content_key(base: Path, adapter: Path) -> str:
    """Names the merge: the adapter's files by content, the base model's by name, size and time."""
    digest = hashlib.sha256(b"merged-v1\0")
    for path in _files(adapter):
        digest.update(f"{path.relative_to(adapter).as_posix()}\0".encode())
        with path.open("rb") as content:
            while chunk := content.read(1024 * 1024):
                digest.update(chunk)
    for path in _files(base):
        stat = path.stat()
        digest.update(f"{path.relative_to(base).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:32]


def _files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())
