"""A downloaded adapter archive made a PEFT folder: a tar archive (zstd- or gzip-compressed, or
plain) read as a stream, its regular files extracted with tarfile's `data` filter (no absolute
paths, no `..`, no links out, no devices) and at most `limit` bytes of them, and the one folder
that holds `adapter_config.json` kept."""

import json
import shutil
import tarfile
from pathlib import Path
from typing import BinaryIO

import zstandard

ADAPTER_CONFIG = "adapter_config.json"
WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class NotAnAdapter(ValueError):
    """The archive is not a LoRA adapter ftgate can serve; the message says why."""


def unpack_adapter(archive: Path, into: Path, scratch: Path, limit: int) -> None:
    """Extract `archive` into `scratch` (a new folder), then move its adapter folder to `into`."""
    scratch.mkdir(parents=True)
    try:
        with archive.open("rb") as raw:
            _extract(_decompressed(raw), scratch, limit)
        found = [config.parent for config in scratch.rglob(ADAPTER_CONFIG)]
        if len(found) != 1:
            raise NotAnAdapter(f"the archive holds {len(found)} folders with an {ADAPTER_CONFIG}, not one")
        _check(found[0])
        into.parent.mkdir(parents=True, exist_ok=True)
        found[0].rename(into)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _decompressed(raw: BinaryIO) -> BinaryIO:
    magic = raw.read(4)
    raw.seek(0)
    if magic == ZSTD_MAGIC:
        return zstandard.ZstdDecompressor().stream_reader(raw)  # type: ignore[return-value]
    return raw


def _extract(stream: BinaryIO, into: Path, limit: int) -> None:
    total = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                total += member.size
                if total > limit:
                    raise NotAnAdapter(f"the archive unpacks to more than {limit} bytes")
                tar.extract(member, into, filter="data")
    except (tarfile.TarError, zstandard.ZstdError, EOFError) as error:
        raise NotAnAdapter(f"the archive cannot be read: {error}") from error


def _check(folder: Path) -> None:
    try:
        config = json.loads((folder / ADAPTER_CONFIG).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise NotAnAdapter(f"its {ADAPTER_CONFIG} is not JSON: {error}") from error
    if not isinstance(config, dict) or config.get("peft_type") != "LORA":
        raise NotAnAdapter(f"its {ADAPTER_CONFIG} is not a LoRA adapter's")
    if config.get("modules_to_save"):
        raise NotAnAdapter("it trains whole modules besides LoRA (modules_to_save), which are not served")
    if not any((folder / name).is_file() for name in WEIGHTS):
        raise NotAnAdapter(f"it has no weights ({' or '.join(WEIGHTS)})")
