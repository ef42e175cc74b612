"""Upload + validation throughput and peak memory of a running `ftgate serve`, side by side
with the OpenAI cookbook's approach (json.loads per line + tiktoken per example) on the same file.

    python bench/validate.py            # 50 MB and 200 MB
    python bench/validate.py 20 100     # other sizes, in MiB

Each size gets a fresh server (embedded default: SQLite, local blobs, in-process workers) so each
process's peak RSS (VmHWM) is that upload's own: the gateway process's and, separately, those of
its validator child processes (where the tokenizer lives). Bar: >= 3x the cookbook, peak RSS
< 150 MB.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from validate_core import _in_subprocess, write_chat_jsonl  # noqa: E402

FTGATE = str(Path(sys.executable).parent / "ftgate")


def validator_children(pid: int) -> list[int]:
    # Children started from any of the server's threads.
    children = [
        c for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()
    ]
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def upload_through_server(path: Path, data_dir: Path) -> dict[str, float]:
    env = {**os.environ, "FTGATE_DATA_DIR": str(data_dir), "FTGATE_MAX_UPLOAD_BYTES": str(1 << 30)}
    key = subprocess.run(
        [FTGATE, "keys", "create", "--project", "bench"], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()[-1]
    port = 8765
    server = subprocess.Popen([FTGATE, "serve", "--port", str(port), "--log-level", "warning"], env=env)
    try:
        base = f"http://127.0.0.1:{port}/v1"
        headers = {"authorization": f"Bearer {key}"}
        while True:
            try:
                httpx.get(f"{base}/models", headers=headers).raise_for_status()
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        idle_rss = peak_rss_mb(server.pid)
        started = time.perf_counter()
        with open(path, "rb") as body:
            response = httpx.post(
                f"{base}/files",
                headers=headers,
                files={"file": (path.name, body)},
                data={"purpose": "fine-tune"},
                timeout=600,
            )
        seconds = time.perf_counter() - started
        response.raise_for_status()
        report = httpx.get(f"{base}/files/{response.json()['id']}/validation", headers=headers).json()
        assert report["issues"] == [], report["issues"]
        return {
            "seconds": seconds,
            "total_tokens": report["total_tokens"],
            "peak_rss_mb": peak_rss_mb(server.pid),
            "idle_rss_mb": idle_rss,
            "validator_peaks_mb": [peak_rss_mb(child) for child in validator_children(server.pid)],
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(sizes_mb: list[float]) -> None:
    print(f"{'size':>8} {'approach':<22} {'MiB/s':>7} {'seconds':>8} {'peak RSS MiB':>13} {'tokens':>14}")
    for size_mb in sizes_mb:
        with tempfile.TemporaryDirectory(prefix="ftgate-bench-") as folder:
            path = Path(folder) / "chat.jsonl"
            write_chat_jsonl(path, int(size_mb * (1 << 20)))
            size = path.stat().st_size / (1 << 20)
            ours = upload_through_server(path, Path(folder) / "data")
            cookbook = json.loads(_in_subprocess("--measure", "cookbook", str(path)))
        for name, result in (("ftgate upload+validate", ours), ("cookbook (local file)", cookbook)):
            print(
                f"{size:7.1f}M {name:<22} {size / result['seconds']:7.1f} {result['seconds']:8.2f} "
                f"{result['peak_rss_mb']:13.1f} {result['total_tokens']:14,}"
            )
        children = ", ".join(f"{peak:.1f}" for peak in ours["validator_peaks_mb"])
        print(
            f"{'':8} speed-up {cookbook['seconds'] / ours['seconds']:.2f}x; gateway process peak "
            f"{ours['peak_rss_mb']:.1f} MiB (before the upload {ours['idle_rss_mb']:.1f}); "
            f"validator child processes' peaks: {children} MiB"
        )


if __name__ == "__main__":
    main([float(arg) for arg in sys.argv[1:]] or [50.0, 200.0])
