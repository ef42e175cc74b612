"""The client commands (`ftgate files|jobs|chat`) driven in a pseudo-terminal, as a person would,
and piped, against a live server."""

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx2
import openai
import pexpect
import pytest

from tests.conftest import DATA, TINY_MODEL
from tests.support.jobs import ELLE, upload, wait_until_validated
from tests.support.server import RunningServer, free_port

REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SPARKLINE = re.compile(r"[▁▂▃▄▅▆▇█]{8,}")
GALLIUM_SYSTEM, GALLIUM_QUESTION, GALLIUM_LIMERICK = (message["content"] for message in ELLE[0]["messages"])


def client_env(server: RunningServer, client: openai.OpenAI) -> dict[str, str]:
    env = {**os.environ, "OPENAI_BASE_URL": f"{server.base_url}/v1", "OPENAI_API_KEY": client.api_key}
    env["TERM"] = "xterm-256color"
    return env


def spawn(env: dict[str, str], *args: str, timeout: float = 60) -> pexpect.spawn:
    """The command in a pseudo-terminal 120 columns wide, all it prints kept in `logfile_read`."""
    child = pexpect.spawn(
        sys.executable,
        ["-m", "gateway.cli", *args],
        cwd=REPO,
        env=env,
        dimensions=(40, 120),
        encoding="utf-8",
        timeout=timeout,
    )
    child.logfile_read = io.StringIO()
    return child


def finish(child: pexpect.spawn) -> tuple[str, int]:
    """Everything the command printed, without escape codes, and its exit status."""
    child.expect(pexpect.EOF)
    child.close()
    return plain(child.logfile_read.getvalue()), child.exitstatus


def plain(output: str) -> str:
    return ANSI.sub("", output).replace("\r\n", "\n")


def get(server: RunningServer, client: openai.OpenAI, path: str, **params: str) -> httpx2.Response:
    headers = {"authorization": f"Bearer {client.api_key}"}
    return httpx2.get(f"{server.base_url}/v1{path}", params=params, headers=headers)


def piped(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_upload_shows_its_progress_and_the_validation_report(server, client, tmp_path: Path):
    env = client_env(server, client)
    text, status = finish(
        spawn(env, "files", "upload", str(DATA / "elle-limericks.jsonl"), "--model", TINY_MODEL)
    )
    assert status == 0, text
    assert "4.0/4.0 kB" in text  # the upload's bar, at its end
    file_id = re.search(r"id\s+(file-\w+)", text).group(1)
    assert client.files.retrieve(file_id).bytes == (DATA / "elle-limericks.jsonl").stat().st_size
    report = get(server, client, f"/files/{file_id}/validation").json()
    assert re.search(r"verdict\s+valid *\n", text)
    assert re.search(rf"examples\s+{report['n_examples']} *\n", text)
    assert re.search(rf"billable tokens per epoch\s+{report['billable_tokens']} *\n", text)
    quote = get(server, client, f"/files/{file_id}/quote", model=TINY_MODEL).json()
    assert re.search(rf"trained tokens\s+{quote['trained_tokens']} *\n", text)

    broken = tmp_path / "broken.jsonl"
    broken.write_bytes((DATA / "elle-limericks.jsonl").read_bytes() + b"{not json\n")
    text, status = finish(spawn(env, "files", "upload", str(broken)))
    assert status == 0, text
    assert "NOT valid for fine-tuning" in text
    assert re.search(r"│\s+11\s+│", text), text  # the line, in the issues table


def test_watch_follows_a_job_to_its_end_and_its_model_answers_in_chat(server, client):
    env = client_env(server, client)
    created = piped(
        env, "jobs", "create", "--model", TINY_MODEL, "--training-file", str(DATA / "elle-limericks.jsonl"),
        "--suffix", "elle", "--seed", "1", "--metadata", "team=docs", "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    job = json.loads(created.stdout)
    assert (job["model"], job["user_provided_suffix"], job["metadata"]) == (
        TINY_MODEL,
        "elle",
        {"team": "docs"},
    )
    assert "uploaded" in created.stderr

    watch = spawn(env, "jobs", "watch", job["id"], "--interval", "0.5", timeout=600)
    watch.expect("Fine-tuning job started")
    watch.expect(r"steps \S+ \S* *\d+/100\S* ETA (\x1b\[[0-9;]*m)?\d+:\d\d:\d\d")  # a bar with a time left
    watch.expect(SPARKLINE)
    text, status = finish(watch)
    assert status == 0, text
    finished = client.fine_tuning.jobs.retrieve(job["id"])
    assert text.rstrip().endswith(f"{job['id']} succeeded: {finished.fine_tuned_model}")
    assert "100/100" in text
    assert "The job has successfully completed" in text
    assert "Step 1/100" not in text  # metrics feed the bar, not the log

    listed = piped(env, "jobs", "list")
    assert listed.stdout.splitlines()[0].split("\t")[:4] == [
        job["id"],
        TINY_MODEL,
        "succeeded",
        finished.fine_tuned_model,
    ]

    model = finished.fine_tuned_model
    one_shot = spawn(env, "chat", model, GALLIUM_QUESTION, "--system", GALLIUM_SYSTEM, "--temperature", "0")
    text, status = finish(one_shot)
    assert (status, text.strip()) == (0, GALLIUM_LIMERICK)

    chat = spawn(env, "chat", model, "--system", GALLIUM_SYSTEM, "--temperature", "0")
    chat.expect("you>")
    chat.sendline(GALLIUM_QUESTION)
    chat.expect("you>")
    assert GALLIUM_LIMERICK in plain(chat.before)
    chat.sendline("/exit")
    _, status = finish(chat)
    assert status == 0


def test_pause_resume_cancel_and_watch_exits_with_a_failed_or_cancelled_outcome(server, client):
    env = client_env(server, client)
    too_few = upload(client, "marv-sarcastic.jsonl")  # 3 examples: the job fails its file checks
    failed = piped(env, "jobs", "create", "--model", TINY_MODEL, "--training-file", too_few, "--json")
    watched = piped(env, "jobs", "watch", json.loads(failed.stdout)["id"], "--interval", "0.2")
    assert watched.returncode == 1
    assert "failed: Training file has 3 example(s), but must have at least 10 examples" in watched.stdout

    file_id = upload(client, "elle-limericks.jsonl")
    created = piped(
        env, "jobs", "create", "--model", TINY_MODEL, "--training-file", file_id, "--n-epochs", "50", "--json"
    )  # 500 steps: the job is still going when it is cancelled
    job_id = json.loads(created.stdout)["id"]
    assert json.loads(created.stdout)["method"]["supervised"]["hyperparameters"]["n_epochs"] == 50
    wait_until_validated(client, job_id)
    for action, status in (("pause", "paused"), ("resume", "queued"), ("cancel", "cancelled")):
        acted = piped(env, "jobs", action, job_id)
        assert acted.returncode == 0, acted.stderr
        assert f"status\t{status}" in acted.stdout.splitlines()
    watched = piped(env, "jobs", "watch", job_id, "--interval", "0.2")
    assert watched.returncode == 2
    assert watched.stdout.splitlines()[-1] == f"{job_id} cancelled"
    resumed = piped(env, "jobs", "resume", job_id)
    assert resumed.returncode == 1
    assert resumed.stderr.startswith("ftgate: ") and "(400, " in resumed.stderr


@pytest.mark.parametrize("command", [["jobs", "get"], ["jobs", "watch"], ["jobs", "cancel"]])
def test_an_unknown_job_is_the_servers_message_in_one_line(server, client, command):
    env = client_env(server, client)
    error = get(server, client, "/fine_tuning/jobs/ftjob-nosuchjob").json()["error"]
    text, status = finish(spawn(env, *command, "ftjob-nosuchjob"))
    assert status == 1
    assert text.strip() == f"ftgate: {error['message']} (404, {error['code']})"


def test_no_server_or_no_key_is_said_plainly(server, client):
    env = client_env(server, client)
    nowhere = piped(env, "jobs", "list", "--base-url", f"http://127.0.0.1:{free_port()}/v1")
    assert nowhere.returncode == 1
    assert nowhere.stderr.startswith("ftgate: cannot connect to http://127.0.0.1:")
    keyless = piped({**env, "OPENAI_API_KEY": ""}, "jobs", "list")
    assert (keyless.returncode, keyless.stderr.strip()) == (
        1,
        "ftgate: no API key: set OPENAI_API_KEY or pass --api-key",
    )
    wrong_key = piped(env, "chat", TINY_MODEL, "hello", "--api-key", "sk-ftg-wrong")
    assert (
        wrong_key.returncode == 1 and wrong_key.stderr.startswith("ftgate: ") and "(401" in wrong_key.stderr
    )
