import io
import tarfile
from pathlib import Path

import pytest

from gateway.weights.archive import TarStream


def folder_of(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "source"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_the_stream_is_a_tar_of_one_folder_with_every_file_whole(tmp_path: Path):
    files = {
        "adapter_config.json": b"{}",
        "adapter_model.safetensors": bytes(range(256)) * 5000,  # several chunks, not block-aligned
        "nested/empty.txt": b"",
        "x" * 150 + ".json": b"a long name needs a PAX header",
    }
    (tmp_path / "elsewhere.txt").write_bytes(b"linked")
    root = folder_of(tmp_path, files)
    (root / "link.txt").symlink_to(tmp_path / "elsewhere.txt")
    stream = TarStream("ft-model-adapter", mtime=1_700_000_000)
    stream.add_tree(root)
    stream.add_bytes("ftgate-export.json", b'{"model": "m"}')

    body = b"".join(stream.chunks())

    assert len(body) == stream.length and len(body) % tarfile.BLOCKSIZE == 0
    with tarfile.open(fileobj=io.BytesIO(body), mode="r|") as tar:
        read = {member.name: (member, tar.extractfile(member).read()) for member in tar}
    expected = {f"ft-model-adapter/{name}": data for name, data in files.items()}
    expected["ft-model-adapter/ftgate-export.json"] = b'{"model": "m"}'
    assert {name: data for name, (_, data) in read.items()} == expected, "links are left out"
    assert all(member.mtime == 1_700_000_000 and member.mode == 0o644 for member, _ in read.values())


def test_files_are_opened_when_added_and_read_whole_even_once_removed(tmp_path: Path):
    root = folder_of(tmp_path, {"model.safetensors": b"w" * 3000})
    stream = TarStream("merged", mtime=0)
    stream.add_tree(root)
    (root / "model.safetensors").unlink()
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream.chunks()))) as tar:
        assert tar.extractfile("merged/model.safetensors").read() == b"w" * 3000


def test_a_file_cut_short_while_sent_ends_the_stream_with_an_error(tmp_path: Path):
    root = folder_of(tmp_path, {"model.safetensors": b"w" * 3000})
    stream = TarStream("merged", mtime=0)
    stream.add_tree(root)
    with (root / "model.safetensors").open("r+b") as file:
        file.truncate(1000)
    with pytest.raises(OSError, match="ended 2000 bytes early"):
        b"".join(stream.chunks())
