"""The resource-exhaustion attacks, each against a fresh `ftgate serve`, with the server's memory
and another client's latency measured while it runs.

    python bench/hostile.py                      # this checkout
    python bench/hostile.py --repo ../old-tree   # another tree of ftgate (e.g. an older commit)

Attacks:
- huge-body-no-key / huge-body-key: a JSON body of --huge-mb MB of `[{},{},…]` junk sent to
  /v1/fine_tuning/jobs without a key, then with one;
- stalled-uploads: two multipart fine-tune uploads stopped after 2 KB, then another tenant's
  upload of the Elle limericks (its time is the latency figure);
- big-prompt: a chat to tiny-chat whose message is --prompt-mb MB;
- aborted-chats: three non-streamed chats (n=8, temperature 2) whose clients leave after 0.5 s.

For each: the server's peak RSS above its RSS before (MB), how long the attack's own request took,
and the slowest answer another client got meanwhile (a 3-token chat for the chat attacks, a
model list otherwise, one every 0.2 s).
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.server import free_port  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
ELLE = (REPO / "tests/data/elle-limericks.jsonl").read_bytes()
SHORT_CHAT = {"model": "tiny-chat", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3}


class Server:
    def __init__(self, repo: Path, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "FTGATE_DATA_DIR": str(data_dir), "PYTHONPATH": str(repo)}
        ftgate = [sys.executable, "-m", "gateway.cli"]
        subprocess.run([*ftgate, "models", "build-tiny"], env=env, cwd=repo, check=True, capture_output=True)
        self.keys = [
            subprocess.run(
                [*ftgate, "keys", "create", "--project", f"tenant-{n}"],
                env=env,
                cwd=repo,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()[-1]
            for n in range(2)
        ]
        self.process = subprocess.Popen(
            [*ftgate, "serve", "--port", str(self.port), "--log-level", "warning"],
            env=env,
            cwd=repo,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/v1/models", headers=self.auth(1), timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        httpx.post(f"{self.url}/v1/chat/completions", json=SHORT_CHAT, headers=self.auth(1), timeout=120)

    def auth(self, tenant: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[tenant]}"}

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


class Watch:
    """Samples the server's RSS and another client's latency until stopped."""

    def __init__(self, server: Server, chat: bool) -> None:
        self.server, self.chat = server, chat
        self.base_rss = server.rss_mb()
        self.peak_rss = self.base_rss
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._rss), threading.Thread(target=self._client)]
        for thread in self._threads:
            thread.start()

    def _rss(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_rss = max(self.peak_rss, self.server.rss_mb())

    def _client(self) -> None:
        with httpx.Client(base_url=self.server.url, headers=self.server.auth(1), timeout=600) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                if self.chat:
                    client.post("/v1/chat/completions", json=SHORT_CHAT)
                else:
                    client.get("/v1/models")
                self.latencies.append(time.monotonic() - started)
                self._stop.wait(0.2)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        return {"rss_growth_mb": self.peak_rss - self.base_rss, "other_client_max_s": max(self.latencies)}


def raw(server: Server, head: bytes, body_parts, read_timeout: float = 600) -> tuple[int | None, float]:
    """Sends a request by hand; returns its status (None: the connection broke) and duration."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=read_timeout) as sock:
        try:
            sock.sendall(head)
            for part in body_parts:
                sock.sendall(part)
            answer = sock.recv(256)
        except OSError:
            answer = b""
    status = int(answer.split()[1]) if answer.startswith(b"HTTP/") else None
    return status, time.monotonic() - started


def huge_body(server: Server, megabytes: int, key: str | None) -> tuple[int | None, float]:
    prefix = b'{"model":"x","training_file":"f","junk":['
    piece = b"{}," * 349_525
    count = megabytes * 1024 * 1024 // len(piece)
    suffix = b"{}]}"
    length = len(prefix) + count * len(piece) + len(suffix)
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    head = (
        f"POST /v1/fine_tuning/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"{auth}Content-Length: {length}\r\n\r\n"
    ).encode()
    return raw(server, head, [prefix, *(piece for _ in range(count)), suffix])


def stalled_uploads(server: Server) -> tuple[int | None, float]:
    boundary = "b0undary"
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.jsonl"\r\n\r\n'
    ).encode() + ELLE[:2048]
    head = (
        f"POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.keys[0]}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(part) + 10000}\r\n\r\n"
    ).encode()
    stalled = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
    for sock in stalled:
        sock.sendall(head + part)
    time.sleep(1)
    started = time.monotonic()
    response = httpx.post(
        f"{server.url}/v1/files",
        headers=server.auth(1),
        files={"file": ("elle.jsonl", ELLE)},
        data={"purpose": "fine-tune"},
        timeout=600,
    )
    for sock in stalled:
        sock.close()
    return response.status_code, time.monotonic() - started


def big_prompt(server: Server, megabytes: float) -> tuple[int | None, float]:
    body = {"model": "tiny-chat", "messages": [{"role": "user", "content": "a " * int(megabytes * 524288)}]}
    started = time.monotonic()
    response = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=server.auth(0), timeout=600)
    return response.status_code, time.monotonic() - started


def aborted_chats(server: Server) -> tuple[int | None, float]:
    body = json.dumps(
        {"model": "tiny-chat", "messages": [{"role": "user", "content": "Hi"}], "n": 8, "temperature": 2}
    ).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.keys[0]}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(head + body)
            time.sleep(0.5)
    started = time.monotonic()
    response = httpx.post(
        f"{server.url}/v1/chat/completions", json=SHORT_CHAT, headers=server.auth(1), timeout=600
    )
    return response.status_code, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO)
    parser.add_argument("--huge-mb", type=int, default=500)
    parser.add_argument("--prompt-mb", type=float, default=5)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    attacks = {
        "huge-body-no-key": (False, lambda s: huge_body(s, args.huge_mb, None)),
        "huge-body-key": (False, lambda s: huge_body(s, args.huge_mb, s.keys[0])),
        "stalled-uploads": (False, stalled_uploads),
        "big-prompt": (True, lambda s: big_prompt(s, args.prompt_mb)),
        "big-prompt-under-cap": (True, lambda s: big_prompt(s, 1.9)),
        "aborted-chats": (True, aborted_chats),
    }
    print(f"{'attack':22} {'status':>6} {'request s':>10} {'RSS +MB':>8} {'other client max s':>19}")
    for name, (chat, attack) in attacks.items():
        if args.only and name not in args.only:
            continue
        with tempfile.TemporaryDirectory() as data_dir:
            server = Server(args.repo.resolve(), Path(data_dir))
            try:
                watch = Watch(server, chat)
                status, seconds = attack(server)
                time.sleep(1)
                figures = watch.stop()
            finally:
                server.stop()
        print(
            f"{name:22} {status!s:>6} {seconds:10.2f} {figures['rss_growth_mb']:8.0f} "
            f"{figures['other_client_max_s']:19.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
