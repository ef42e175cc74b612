"""Benchmark: the weights export's tar stream against reading the same files, and against the
compressed archives it could have been.

    .venv/bin/python bench/weights_export.py [SIZE_MB=256]

Writes a folder like an exported adapter (adapter_config.json, tokenizer files, and SIZE_MB of
bf16 weights drawn like trained ones: normal, std 0.02) to a temp folder, then times, best of
three each:
  (a) the anchor: reading every file in 1 MiB chunks;
  (b) gateway.weights.archive.TarStream: the uncompressed tar the endpoint sends;
  (c) the same stream through gzip level 1 (what a .tar.gz would cost the gateway's CPU);
  (d) the same stream through zstd level 1 (a .tar.zst).
and prints MB/s of input and the archive's size relative to the files.
"""

import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.weights.archive import TarStream  # noqa: E402

CHUNK_BYTES = 1 << 20


def write_folder(root: Path, size_mb: int) -> int:
    rng = np.random.default_rng(0)
    with (root / "adapter_model.safetensors").open("wb") as weights:
        for _ in range(size_mb):
            values = (rng.standard_normal(CHUNK_BYTES // 2, dtype=np.float32) * 0.02).view(np.uint32)
            weights.write((values >> 16).astype(np.uint16).tobytes())  # bf16: float32's top half
    (root / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 16}')
    (root / "tokenizer.json").write_text('{"model": {"vocab": {}}}' * 20000)
    return sum(path.stat().st_size for path in root.iterdir())


def raw_read(root: Path) -> Iterable[bytes]:
    for path in sorted(root.iterdir()):
        with path.open("rb") as file:
            while chunk := file.read(CHUNK_BYTES):
                yield chunk


def tar_stream(root: Path) -> Iterable[bytes]:
    stream = TarStream("export", mtime=0)
    stream.add_tree(root)
    return stream.chunks()


def gzipped(root: Path) -> Iterable[bytes]:
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    for chunk in tar_stream(root):
        yield compressor.compress(chunk)
    yield compressor.flush()


def zstd(root: Path) -> Iterable[bytes]:
    compressor = zstandard.ZstdCompressor(level=1).compressobj()
    for chunk in tar_stream(root):
        yield compressor.compress(chunk)
    yield compressor.flush()


def best_of_three(produce: Callable[[Path], Iterable[bytes]], root: Path) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        size = sum(len(chunk) for chunk in produce(root))
        best = min(best, time.perf_counter() - started)
    return best, size


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        files_bytes = write_folder(root, size_mb)
        print(f"{files_bytes / 1e6:.0f} MB of files (bf16 weights, std 0.02)")
        print(f"{'':32} {'MB/s':>8} {'archive / files':>16}")
        for label, produce in [
            ("(a) read the files (anchor)", raw_read),
            ("(b) tar stream (served)", tar_stream),
            ("(c) tar + gzip level 1", gzipped),
            ("(d) tar + zstd level 1", zstd),
        ]:
            seconds, size = best_of_three(produce, root)
            print(f"{label:32} {files_bytes / 1e6 / seconds:8.0f} {size / files_bytes:16.3f}")


if __name__ == "__main__":
    main()
