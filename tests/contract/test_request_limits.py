"""Requests that try to exhaust the server: huge bodies with and without a key, bodies that stop
arriving, stalled uploads against another tenant's upload, clients that go away mid-upload."""

import json
import logging
import socket
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import openai
import pytest

from tests.conftest import TINY_MODEL, ClientFactory, tiny_model_server
from tests.support.admin import ADMIN_KEY
from tests.support.jobs import DATA
from tests.support.server import RunningServer

JSON_CAP = 64 * 1024
CHAT_CAP = 2 * 1024 * 1024
IDLE_SECONDS = 2.0
UPLOADS_PER_PROJECT = 2
ELLE = (DATA / "elle-limericks.jsonl").read_bytes()
BOUNDARY = "ftgateboundary"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Iterator[RunningServer]:
    with tiny_model_server(
        tmp_path_factory.mktemp("ftgate-limits"),
        tiny_model,
        "sqlite",
        validation_processes=1,
        max_json_body_bytes=JSON_CAP,
        max_chat_body_bytes=CHAT_CAP,
        request_body_idle_seconds=IDLE_SECONDS,
        max_concurrent_uploads_per_project=UPLOADS_PER_PROJECT,
    ) as running:
        yield running


def connect(server: RunningServer) -> socket.socket:
    host, port = server.base_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def send_head(sock: socket.socket, method: str, path: str, headers: dict[str, str]) -> None:
    lines = [f"{method} {path} HTTP/1.1", "Host: ftgate", *(f"{k}: {v}" for k, v in headers.items())]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], dict]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (h.partition(":") for h in header_lines)}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return int(status_line.split()[1]), headers, json.loads(body)


def huge_junk_head(sock: socket.socket, path: str, key: str | None) -> None:
    """OpenAI's body of 500 MB announced, the first kilobyte of it sent, then silence."""
    headers = {"Content-Type": "application/json", "Content-Length": str(500_000_000)}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    send_head(sock, "POST", path, headers)
    sock.sendall(b'{"model":"x","training_file":"f","junk":[' + b"{}," * 300)


@pytest.mark.parametrize("path", ["/v1/fine_tuning/jobs", "/v1/chat/completions", "/admin/projects"])
def test_a_huge_body_without_a_key_is_refused_before_it_is_read(server: RunningServer, path: str):
    with closing(connect(server)) as sock:
        huge_junk_head(sock, path, key=None)
        status, headers, body = read_response(sock)
    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"
    assert headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("path", "cap"), [("/v1/fine_tuning/jobs", JSON_CAP), ("/v1/chat/completions", CHAT_CAP)]
)
def test_a_declared_huge_body_with_a_key_is_a_413_before_it_is_read(
    server: RunningServer, path: str, cap: int
):
    with closing(connect(server)) as sock:
        huge_junk_head(sock, path, key=server.create_key("huge-declared"))
        status, _, body = read_response(sock)
    assert status == 413
    assert body == {
        "error": {
            "message": f"Request body too large: this endpoint accepts at most {cap} bytes.",
            "type": "invalid_request_error",
            "param": None,
            "code": "request_too_large",
        }
    }


def test_a_chunked_body_past_the_cap_is_a_413_while_it_streams(server: RunningServer):
    """No length announced: the server counts as the bytes arrive and answers once past the cap,
    without waiting for the rest."""
    with closing(connect(server)) as sock:
        send_head(
            sock,
            "POST",
            "/admin/projects",
            {
                "Authorization": f"Bearer {ADMIN_KEY}",
                "Content-Type": "application/json",
                "Transfer-Encoding": "chunked",
            },
        )
        piece = b"{}," * 4096
        for _ in range(2 * JSON_CAP // len(piece) + 1):
            sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        status, _, body = read_response(sock)
    assert status == 413 and body["error"]["code"] == "request_too_large"


def test_a_body_that_stops_arriving_is_a_408(server: RunningServer):
    key = server.create_key("stalled-json")
    with closing(connect(server)) as sock:
        headers = {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Content-Length": "100",
        }
        send_head(sock, "POST", "/v1/fine_tuning/jobs", headers)
        sock.sendall(b'{"model": "tiny-chat",')
        started = time.monotonic()
        status, _, body = read_response(sock)
    assert status == 408 and body["error"]["code"] == "request_timeout"
    assert IDLE_SECONDS <= time.monotonic() - started < IDLE_SECONDS + 5


def start_stalled_upload(server: RunningServer, key: str) -> socket.socket:
    """Headers and 2 KB of a fine-tune file part, then nothing more."""
    sock = connect(server)
    part = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="slow.jsonl"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + ELLE[:2048]
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(len(part) + 10_000),
    }
    send_head(sock, "POST", "/v1/files", headers)
    sock.sendall(part)
    return sock


def test_stalled_uploads_hold_no_validator_from_another_tenant(
    server: RunningServer, make_client: ClientFactory
):
    """One validator child, two uploads of one tenant stalled in it: another tenant's upload is
    validated at once, not after the stalled ones give up."""
    stalled_key = server.create_key("stalling-tenant")
    stalled = [start_stalled_upload(server, stalled_key) for _ in range(UPLOADS_PER_PROJECT)]
    try:
        time.sleep(0.5)
        client = make_client()
        started = time.monotonic()
        uploaded = client.files.create(file=("elle.jsonl", ELLE), purpose="fine-tune")
        assert time.monotonic() - started < IDLE_SECONDS
        assert uploaded.status == "processed"
        report = client.get(f"/files/{uploaded.id}/validation", cast_to=object)
        assert report["n_examples"] == 10
    finally:
        for sock in stalled:
            sock.close()


def test_a_project_past_its_concurrent_uploads_gets_a_429(server: RunningServer):
    key = server.create_key("busy-uploader")
    stalled = [start_stalled_upload(server, key) for _ in range(UPLOADS_PER_PROJECT)]
    try:
        time.sleep(0.5)
        client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
        with pytest.raises(openai.RateLimitError) as raised:
            client.files.create(file=("elle.jsonl", ELLE), purpose="fine-tune")
        assert raised.value.body["code"] == "rate_limit_exceeded"
        assert raised.value.response.headers["retry-after"] == "1"
    finally:
        for sock in stalled:
            sock.close()
    time.sleep(0.5)  # the stalled uploads' slots are given back once their clients are gone
    assert client.files.create(file=("elle.jsonl", ELLE), purpose="fine-tune").status == "processed"


def test_a_client_leaving_mid_upload_is_logged_once_at_info(
    server: RunningServer, caplog: pytest.LogCaptureFixture
):
    key = server.create_key("leaving-uploader")
    with caplog.at_level(logging.INFO, logger="gateway"):
        for _ in range(3):
            start_stalled_upload(server, key).close()
        time.sleep(1)
    records = [record for record in caplog.records if record.name.startswith("gateway")]
    assert [record.levelname for record in records if record.levelno >= logging.WARNING] == []
    assert sum("client went away" in record.getMessage() for record in records) == 3


LONG_CHAT = {
    "model": TINY_MODEL,
    "messages": [{"role": "user", "content": "Tell me a long story."}],
    "temperature": 2,
    "max_tokens": 2000,
}


def test_a_prompt_that_cannot_fit_is_refused_before_it_is_tokenized(client: openai.OpenAI):
    """1.9 MB of text cannot be 2,048 tokens of any tokenizer: refused from its size alone."""
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model=TINY_MODEL, messages=[{"role": "user", "content": "limerick " * 210_000}], max_tokens=1
        )
    assert raised.value.body["code"] == "context_length_exceeded"
    assert raised.value.body["param"] == "messages"
    assert "your messages resulted in at least" in raised.value.body["message"]


def test_n_choices_of_max_tokens_must_fit_the_context_together(client: openai.OpenAI):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(**LONG_CHAT | {"n": 8, "max_tokens": 300})
    assert raised.value.body["code"] == "context_length_exceeded"
    assert "in the messages, 2400 in the completion" in raised.value.body["message"]


def test_a_chat_whose_client_left_frees_the_model(server: RunningServer, client: openai.OpenAI):
    """An abandoned non-streamed chat of 2,000 tokens stops generating when its client goes;
    a three-token chat right after it does not wait for it."""
    body = json.dumps(LONG_CHAT).encode()
    for _ in range(3):
        with closing(connect(server)) as sock:
            headers = {
                "Authorization": f"Bearer {client.api_key}",
                "Content-Type": "application/json",
                "Content-Length": str(len(body)),
            }
            send_head(sock, "POST", "/v1/chat/completions", headers)
            sock.sendall(body)
            time.sleep(0.5)
    started = time.monotonic()
    short = client.chat.completions.create(**LONG_CHAT | {"max_tokens": 3, "temperature": 0})
    assert short.usage.completion_tokens <= 3
    assert time.monotonic() - started < 10


def test_a_generation_stops_at_the_time_limit(tmp_path: Path, tiny_model: Path):
    with tiny_model_server(tmp_path, tiny_model, "sqlite", chat_max_seconds=0.5) as limited:
        client = openai.OpenAI(
            base_url=f"{limited.base_url}/v1", api_key=limited.create_key("hurried"), max_retries=0
        )
        answer = client.chat.completions.create(**LONG_CHAT | {"n": 2, "max_tokens": 1000})
    # At temperature 2 a choice may still draw its end token before the limit ("stop").
    reasons = [choice.finish_reason for choice in answer.choices]
    assert "length" in reasons and set(reasons) <= {"length", "stop"}
    assert answer.usage.completion_tokens < 2 * 1000
