"""The embedded default killed mid-training: the restarted server resumes the job from its last
checkpoint."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import openai

from gateway import artifacts
from tests.conftest import TINY_MODEL
from tests.support.jobs import many_examples, metrics_events, upload, wait_for_status
from tests.support.server import free_port

FTGATE = str(Path(sys.executable).parent / "ftgate")


def ftgate_env(data_dir: Path, database_url: str = "") -> dict[str, str]:
    """`ftgate`'s environment on `data_dir`, with SQLite there unless `database_url` is given."""
    env = {**os.environ, "FTGATE_DATA_DIR": str(data_dir)}
    env.pop("FTGATE_DATABASE_URL", None)
    return env | ({"FTGATE_DATABASE_URL": database_url} if database_url else {})


def cli_key(env: dict[str, str], project: str) -> str:
    """A new key of `project`, made by `ftgate keys create` in `env`."""
    created = subprocess.run(
        [FTGATE, "keys", "create", "--project", project], env=env, capture_output=True, text=True, check=True
    )
    return created.stdout.splitlines()[-1]


@contextmanager
def ftgate_serve(data_dir: Path, port: int, database_url: str = "") -> Iterator[subprocess.Popen]:
    env = {
        **ftgate_env(data_dir, database_url),
        "FTGATE_JOB_LEASE_SECONDS": "3",
        "FTGATE_RECONCILE_INTERVAL_SECONDS": "1",
    }
    process = subprocess.Popen([FTGATE, "serve", "--port", str(port), "--log-level", "warning"], env=env)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx2.get(f"http://127.0.0.1:{port}/v1/models")
            break
        except httpx2.ConnectError:
            assert time.monotonic() < deadline and process.poll() is None, "ftgate serve did not start"
            time.sleep(0.1)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def test_a_server_killed_mid_training_resumes_the_job_after_a_restart(tmp_path: Path, tiny_model: Path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / TINY_MODEL).symlink_to(tiny_model)
    env = {**os.environ, "FTGATE_DATA_DIR": str(tmp_path)}
    env.pop("FTGATE_DATABASE_URL", None)
    key = cli_key(env, "restart")
    port = free_port()
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0)
    with ftgate_serve(tmp_path, port) as server:
        file_id = upload(client, "many.jsonl", many_examples(60))
        job = client.fine_tuning.jobs.create(
            model=TINY_MODEL,
            training_file=file_id,
            method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 10}}},
        )
        states = artifacts.states_dir(tmp_path / "artifacts", job.id)
        deadline = time.monotonic() + 240
        while not list(states.glob("state-*")):  # written just after the first checkpoint
            assert time.monotonic() < deadline, "the job saved no state"
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
    with ftgate_serve(tmp_path, port):
        assert client.fine_tuning.jobs.retrieve(job.id).status == "running"
        finished = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=240)
        assert finished.status == "succeeded", finished.error
        assert [event.data["step"] for event in metrics_events(client, job.id)] == list(range(1, 601))
        messages = [event.message for event in client.fine_tuning.jobs.list_events(job.id, limit=1000)]
        assert len([m for m in messages if m.startswith("Training resumed from step ")]) == 1
