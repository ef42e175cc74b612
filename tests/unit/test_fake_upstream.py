"""The fake OpenAI upstream, driven over real HTTP: lifecycle, scripted outcomes, faults, webhooks."""

import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.fake_upstream import FakeUpstream

KEY = "sk-upstream-test"
MODEL = "gpt-4o-mini-2024-07-18"
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = [
    [{"role": "user", "content": f"Hi {i}"}, {"role": "assistant", "content": f"Yo {i}"}] for i in range(3)
]
TRAINING = "".join(json.dumps({"messages": messages}) + "\n" for messages in EXAMPLES).encode()
FAST = {"step_seconds": 0.02, "validate_seconds": 0.05, "queue_seconds": 0.05}


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(KEY, **FAST) as fake:
        yield fake


@pytest.fixture
def client(upstream: FakeUpstream) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=upstream.base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=5) as c:
        yield c


def upload(client: httpx.Client) -> str:
    response = client.post("/files", files={"file": ("train.jsonl", TRAINING)}, data={"purpose": "fine-tune"})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def create_job(client: httpx.Client, **extra: object) -> dict:
    body = {"model": MODEL, "training_file": upload(client), "hyperparameters": {"n_epochs": 2}, **extra}
    response = client.post("/fine_tuning/jobs", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def eventually(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def wait_for(client: httpx.Client, job_id: str, *statuses: str) -> dict:
    eventually(lambda: client.get(f"/fine_tuning/jobs/{job_id}").json()["status"] in statuses)
    return client.get(f"/fine_tuning/jobs/{job_id}").json()


def messages(client: httpx.Client, job_id: str) -> list[str]:
    events = client.get(f"/fine_tuning/jobs/{job_id}/events", params={"limit": 100}).json()["data"]
    return [event["message"] for event in reversed(events)]


def test_a_job_runs_to_success_and_its_model_chats(upstream, client):
    job = create_job(client, suffix="demo", metadata={"ftgate_job_id": "ftjob-abc"})
    assert job["id"].startswith("ftjob-") and job["status"] == "validating_files"
    assert job["metadata"] == {"ftgate_job_id": "ftjob-abc"} and job["user_provided_suffix"] == "demo"
    resolved = {"n_epochs": 2, "batch_size": 1, "learning_rate_multiplier": 1.8}
    assert job["hyperparameters"] == job["method"]["supervised"]["hyperparameters"] == resolved

    done = wait_for(client, job["id"], "succeeded")
    name = done["fine_tuned_model"]
    assert re.fullmatch(rf"ft:{MODEL}:upstream-org:demo:[A-Za-z0-9]{{8}}", name)
    assert done["trained_tokens"] > 0 and done["finished_at"] and done["error"] is None

    checkpoints = client.get(f"/fine_tuning/jobs/{job['id']}/checkpoints").json()
    assert [c["step_number"] for c in checkpoints["data"]] == [6, 3]
    assert checkpoints["first_id"] == checkpoints["data"][0]["id"] and checkpoints["has_more"] is False
    final, middle = (c["fine_tuned_model_checkpoint"] for c in checkpoints["data"])
    assert final == name and middle.endswith(":ckpt-step-3") and not middle.startswith(name)

    assert messages(client, job["id"]) == [
        f"Created fine-tuning job: {job['id']}",
        f"Validating training file: {job['training_file']}",
        "Files validated, moving job to queued state",
        "Fine-tuning job started",
        *(f"Step {step}/6: training loss={2 / (1 + (step - 1) / 2):.2f}" for step in range(1, 7)),
        f"Checkpoint created at step 3 with Snapshot ID: {middle}",
        f"New fine-tuned model created: {name}",
        "The job has successfully completed",
    ]
    emitted = [event["emitted_at"] for event in upstream.events(job["id"])]
    assert emitted == sorted(emitted) and emitted[-1] - emitted[0] > 6 * FAST["step_seconds"]

    results = client.get(f"/files/{done['result_files'][0]}/content").content
    csv = base64.b64decode(results).decode().splitlines()
    assert csv[0] == "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"
    assert len(csv) == 7 and csv[1].startswith("1,2.0,") and csv[1].endswith(",,")

    chat = {"model": name, "messages": [{"role": "user", "content": "Hello there"}]}
    answer = client.post("/chat/completions", json=chat).json()
    assert answer["choices"][0]["message"]["content"] == f"[{name}] Hello there"
    with client.stream("POST", "/chat/completions", json={**chat, "stream": True}) as stream:
        assert stream.headers["content-type"] == "text/event-stream"
        lines = [line.removeprefix("data: ") for line in stream.iter_lines() if line]
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(line) for line in lines[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == f"[{name}] Hello there"

    missing = client.post("/chat/completions", json={**chat, "model": name + "x"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


def test_errors_use_openai_envelope(client):
    wrong = client.get("/fine_tuning/jobs", headers={"Authorization": "Bearer sk-wrong-key"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert set(wrong.json()["error"]) == {"message", "type", "param", "code"}
    unknown = client.get("/fine_tuning/jobs/ftjob-nope").json()["error"]
    assert unknown["message"] == "Could not find fine tune: ftjob-nope"
    assert unknown["code"] == "fine_tune_not_found"
    assert client.get("/files/file-nope").json()["error"]["message"] == "No such File object: file-nope"
    bad_file = client.post("/fine_tuning/jobs", json={"model": MODEL, "training_file": "file-nope"})
    assert bad_file.status_code == 400 and bad_file.json()["error"]["param"] == "training_file"


def test_pause_stops_the_clock_and_resume_goes_on(upstream, client):
    job = create_job(client, metadata={"fake_step_seconds": "0.1"})
    wait_for(client, job["id"], "running")
    assert client.post(f"/fine_tuning/jobs/{job['id']}/pause").json()["status"] == "paused"
    seen = messages(client, job["id"])
    time.sleep(0.3)
    assert messages(client, job["id"]) == seen
    assert client.post(f"/fine_tuning/jobs/{job['id']}/resume").json()["status"] == "queued"
    wait_for(client, job["id"], "succeeded")
    log = messages(client, job["id"])
    assert [m.split(":")[0] for m in log if m.startswith("Step ")] == [f"Step {n}/6" for n in range(1, 7)]
    assert {"Fine-tuning job paused", "Fine-tuning job resumed"} <= set(log)

    refused = client.post(f"/fine_tuning/jobs/{job['id']}/pause")
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Cannot pause a job with status 'succeeded'."
    other = create_job(client)
    assert client.post(f"/fine_tuning/jobs/{other['id']}/cancel").json()["status"] == "cancelled"
    assert upstream.events(other["id"])[-1]["level"] == "warn"


def test_scripted_outcomes(upstream, client):
    failed = create_job(client, metadata={"fake_outcome": "fail"})
    vanished = create_job(client, metadata={"fake_outcome": "vanish"})
    silent = create_job(client, metadata={"fake_outcome": "silent"})

    assert wait_for(client, failed["id"], "failed")["error"]["code"] == "server_error"
    assert messages(client, failed["id"])[-1] == "The job failed due to an internal error."
    assert wait_for(client, silent["id"], "succeeded")["fine_tuned_model"]
    assert {event["type"] for event in upstream.events(silent["id"])} == {"metrics"}
    assert client.get(f"/fine_tuning/jobs/{vanished['id']}").status_code == 404
    assert client.get(f"/fine_tuning/jobs/{vanished['id']}/events").status_code == 404
    assert upstream.job(vanished["id"])["vanished"] is True


def test_list_filters_by_metadata_and_paginates(upstream, client):
    first = create_job(client, metadata={"ftgate_job_id": "ftjob-a"})
    second = create_job(client, metadata={"ftgate_job_id": "ftjob-b"})
    found = client.get("/fine_tuning/jobs", params={"metadata[ftgate_job_id]": "ftjob-a"}).json()
    assert [job["id"] for job in found["data"]] == [first["id"]]
    newest = client.get("/fine_tuning/jobs", params={"limit": 1}).json()
    assert [job["id"] for job in newest["data"]] == [second["id"]] and newest["has_more"] is True
    older = client.get("/fine_tuning/jobs", params={"limit": 1, "after": second["id"]}).json()
    assert [job["id"] for job in older["data"]] == [first["id"]] and older["has_more"] is False


def test_faults(upstream, client):
    file_id = upload(client)
    body = {"model": MODEL, "training_file": file_id}
    upstream.add_fault("POST", r"/fine_tuning/jobs$", "status", status=429, retry_after=2)
    limited = client.post("/fine_tuning/jobs", json=body)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"

    upstream.add_fault("POST", r"/fine_tuning/jobs$", "drop")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/fine_tuning/jobs", json=body)
    assert upstream.jobs_created == 0

    upstream.add_fault("POST", r"/fine_tuning/jobs$", "drop_after")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/fine_tuning/jobs", json=body)
    assert upstream.jobs_created == 1
    job_id = upstream.jobs()[0]["id"]

    upstream.add_fault("GET", r"/files/", "timeout", seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        client.get(f"/files/{file_id}", timeout=0.2)

    upstream.add_fault("GET", r"/events$", "duplicate")
    doubled = [e["id"] for e in client.get(f"/fine_tuning/jobs/{job_id}/events").json()["data"]]
    assert doubled[::2] == doubled[1::2] and len(doubled) >= 4
    # The job runs on meanwhile and may add an event between two reads: compare adjacent reads.
    for _ in range(5):
        upstream.add_fault("GET", r"/events$", "shuffle")
        shuffled = [e["id"] for e in client.get(f"/fine_tuning/jobs/{job_id}/events").json()["data"]]
        plain = [e["id"] for e in client.get(f"/fine_tuning/jobs/{job_id}/events").json()["data"]]
        if sorted(shuffled) == sorted(plain):
            break
    assert sorted(shuffled) == sorted(plain) and shuffled != plain

    statuses = [r["status"] for r in upstream.requests if r["path"].endswith("/fine_tuning/jobs")]
    assert statuses == [429, None, None] and upstream.requests_to("POST", r"/fine_tuning/jobs$") == 3
    assert client.get(f"/fine_tuning/jobs/{job_id}").status_code == 200


class WebhookReceiver(BaseHTTPRequestHandler):
    """Answers 500 to the first delivery and 204 after, keeping each (body, headers)."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.deliveries.append((body, dict(self.headers)))
        self.send_response(500 if len(self.server.deliveries) == 1 else 204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_webhooks_are_signed_and_retried():
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), WebhookReceiver)
    receiver.deliveries = []
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    try:
        with (
            FakeUpstream(KEY, **FAST, webhook_url=url, webhook_secret=secret) as upstream,
            httpx.Client(base_url=upstream.base_url, headers={"Authorization": f"Bearer {KEY}"}) as client,
        ):
            job = create_job(client, metadata={"fake_outcome": "fail"})
            eventually(lambda: len(upstream.job(job["id"])["webhook_attempts"]) == 2)
            payloads = [Webhook(secret).verify(body, headers) for body, headers in receiver.deliveries]
            assert payloads[0] == payloads[1]
            assert payloads[0]["type"] == "fine_tuning.job.failed" and payloads[0]["data"] == {
                "id": job["id"]
            }
            assert receiver.deliveries[0][1]["webhook-id"] == payloads[0]["id"]
            assert [a["status"] for a in upstream.job(job["id"])["webhook_attempts"]] == [500, 204]
    finally:
        receiver.shutdown()
        receiver.server_close()


def test_runs_as_a_subprocess_controlled_over_http():
    command = [sys.executable, "-m", "tests.support.fake_upstream", "--port", "0", "--api-key", "sk-sub"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        ready = process.stdout.readline().split()
        assert ready[0] == "READY"
        base_url = ready[1]
        root = base_url.removesuffix("/v1")
        fault = {"method": "GET", "path_pattern": "/files/", "action": "status", "status": 503}
        assert httpx.post(f"{root}/_fake/faults", json=fault).status_code == 200
        headers = {"Authorization": "Bearer sk-sub"}
        assert httpx.get(f"{base_url}/files/file-x", headers=headers).status_code == 503
        assert httpx.get(f"{base_url}/files/file-x", headers=headers).status_code == 404
        state = httpx.get(f"{root}/_fake/state").json()
        assert [r["status"] for r in state["requests"]] == [503, 404] and state["jobs_created"] == 0
        httpx.post(f"{root}/_fake/reset")
        assert httpx.get(f"{root}/_fake/state").json()["requests"] == []
    finally:
        process.terminate()
        process.wait(timeout=10)
