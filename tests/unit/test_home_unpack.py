"""An adapter archive from an upstream becomes a PEFT folder only when it is one, whatever its
compression, and nothing in it lands outside the folder it is unpacked in."""

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest
import zstandard

from gateway.home.unpack import NotAnAdapter, unpack_adapter

LORA = {"peft_type": "LORA", "r": 4, "target_modules": ["q_proj"]}


def tar(files: dict[str, bytes]) -> bytes:
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return packed.getvalue()


def adapter(prefix: str = "model-output/", config: dict | None = None) -> dict[str, bytes]:
    return {
        f"{prefix}adapter_config.json": json.dumps(LORA if config is None else config).encode(),
        f"{prefix}adapter_model.safetensors": b"\0" * 64,
        f"{prefix}README.md": b"trained upstream",
    }


def unpack(tmp_path: Path, content: bytes, limit: int = 1 << 20) -> Path:
    archive = tmp_path / "download.archive"
    archive.write_bytes(content)
    into = tmp_path / "job" / "model"
    unpack_adapter(archive, into, tmp_path / "job" / "scratch", limit)
    return into


@pytest.mark.parametrize(
    "compress",
    [zstandard.ZstdCompressor().compress, gzip.compress, lambda raw: raw],
    ids=["zstd", "gzip", "plain"],
)
def test_the_adapter_folder_is_unpacked_whatever_the_compression(tmp_path: Path, compress):
    into = unpack(tmp_path, compress(tar(adapter())))
    assert json.loads((into / "adapter_config.json").read_text()) == LORA
    assert (into / "adapter_model.safetensors").read_bytes() == b"\0" * 64
    assert sorted(path.name for path in (tmp_path / "job").iterdir()) == ["model"]


def test_an_adapter_at_the_archives_top_is_unpacked(tmp_path: Path):
    assert (unpack(tmp_path, tar(adapter(prefix=""))) / "adapter_config.json").is_file()


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"../escape.txt": b"x"} | adapter(), "cannot be read"),
        ({"weights.bin": b"x"}, "0 folders"),
        (adapter("a/") | adapter("b/"), "2 folders"),
        (adapter(config={"peft_type": "PREFIX_TUNING"}), "not a LoRA"),
        (adapter(config=LORA | {"modules_to_save": ["lm_head"]}), "modules_to_save"),
        ({"m/adapter_config.json": json.dumps(LORA).encode()}, "no weights"),
        ({"m/adapter_config.json": b"{not json", "m/adapter_model.bin": b"x"}, "not JSON"),
    ],
    ids=[
        "dotdot",
        "no-config",
        "two-adapters",
        "not-lora",
        "modules-to-save",
        "no-weights",
        "bad-json",
    ],
)
def test_what_is_not_a_servable_adapter_is_refused_and_leaves_nothing(
    tmp_path: Path, files: dict, reason: str
):
    with pytest.raises(NotAnAdapter, match=reason):
        unpack(tmp_path, tar(files))
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "job" / "model").exists()
    assert not (tmp_path / "job" / "scratch").exists()


def test_an_archive_that_unpacks_past_the_limit_is_refused(tmp_path: Path):
    big = adapter() | {"model-output/extra.bin": b"\0" * 4096}
    with pytest.raises(NotAnAdapter, match="more than 1000 bytes"):
        unpack(tmp_path, zstandard.ZstdCompressor().compress(tar(big)), limit=1000)


def test_bytes_that_are_no_archive_are_refused(tmp_path: Path):
    with pytest.raises(NotAnAdapter, match="cannot be read"):
        unpack(tmp_path, b"<Error><Code>AccessDenied</Code></Error>")
