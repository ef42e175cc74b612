"""Uploads that never finish: a server killed mid-upload leaves no partial blob behind once it is
back (SQLite and PostgreSQL), and an upload in flight keeps its partial however long it stalls."""

import os
import signal
import socket
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path

import openai
import pytest

from tests.contract.test_serve_restart import FTGATE, cli_key, ftgate_env, ftgate_serve
from tests.support.jobs import DATA
from tests.support.postgres import temporary_database
from tests.support.server import RunningServer, free_port

BOUNDARY = "ftgate-stalled-upload"
CONTENT = (DATA / "elle-limericks.jsonl").read_bytes()


class StalledUpload:
    """`POST /v1/files` sent by hand, stopped half-way through the file until `finish`."""

    def __init__(self, port: int, key: str) -> None:
        preamble = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="stalled.jsonl"\r\n'
            "Content-Type: application/jsonl\r\n\r\n"
        ).encode()
        half = len(CONTENT) // 2
        self.rest = CONTENT[half:] + f"\r\n--{BOUNDARY}--\r\n".encode()
        head = (
            "POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {key}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {len(preamble) + half + len(self.rest)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        self.socket = socket.create_connection(("127.0.0.1", port))
        self.socket.sendall(head + preamble + CONTENT[:half])

    def finish(self) -> bytes:
        """Send the rest; the raw HTTP response."""
        self.socket.sendall(self.rest)
        response = b""
        while chunk := self.socket.recv(65536):
            response += chunk
        self.socket.close()
        return response


def partials(blob_dir: Path) -> set[Path]:
    return set(blob_dir.rglob(".partial-*"))


def wait_for_new_partial(blob_dir: Path, before: set[Path]) -> Path:
    deadline = time.monotonic() + 30
    while not (new := partials(blob_dir) - before):
        assert time.monotonic() < deadline, "the upload wrote no partial blob"
        time.sleep(0.02)
    [partial] = new
    return partial


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_server_killed_mid_upload_leaves_no_partial_blob_once_restarted(tmp_path: Path, database: str):
    with ExitStack() as stack:
        database_url = "" if database == "sqlite" else stack.enter_context(temporary_database())
        env = ftgate_env(tmp_path, database_url)
        subprocess.run([FTGATE, "migrate"], env=env, capture_output=True, check=True)
        key = cli_key(env, "uploads")
        port = free_port()
        blob_dir = tmp_path / "blobs"
        with ftgate_serve(tmp_path, port, database_url) as server:
            upload = StalledUpload(port, key)
            partial = wait_for_new_partial(blob_dir, set())
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=30)
            upload.socket.close()
        assert partial.exists()
        age(partial, 3600)  # the server stays down a while
        with ftgate_serve(tmp_path, port, database_url):
            deadline = time.monotonic() + 10
            while partial.exists():
                assert time.monotonic() < deadline, "the partial blob is still there"
                time.sleep(0.05)
            client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0)
            assert client.files.list().data == []
        assert partials(blob_dir) == set()


def test_an_upload_in_flight_keeps_its_partial_while_the_reconciler_runs(
    server: RunningServer, client: openai.OpenAI
):
    blob_dir = server.settings.blob_dir
    assert blob_dir is not None and server.settings.reconcile_interval_seconds <= 1
    port = int(server.base_url.rsplit(":", 1)[1])
    upload = StalledUpload(port, client.api_key)
    partial = wait_for_new_partial(blob_dir, partials(blob_dir))
    age(partial, 86400)  # a client stalled for a day: only its writer's lock protects the partial
    time.sleep(3)  # three reconciles
    assert partial.exists()
    response = upload.finish()
    assert response.startswith(b"HTTP/1.1 200 "), response[:500]
    file_id = response.split(b'"id":"', 1)[1].split(b'"', 1)[0].decode()
    assert client.files.content(file_id).content == CONTENT
    assert not partial.exists()
