"""Replace and compare, as a team leaving OpenAI plays them: its fine-tuning history imported from
a scripted OpenAI organisation, production chats with the old model captured through ftgate, a
local replacement trained on them with the original's hyperparameters and suffix, and an eval
that runs the original, the base model and the replacement on the held-out prompts."""

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import openai
import pytest

from gateway.fine_tuning.hyperparameters import COMMON_KEYS
from gateway.openai_import.command import run_import
from tests.conftest import TINY_MODEL, sdk_client
from tests.support.admin import Admin
from tests.support.evals import wait_for_run
from tests.support.fake_upstream import FakeUpstream
from tests.support.jobs import wait_for_status
from tests.support.server import RunningServer
from tests.support.spec import assert_matches_schema
from tests.support.upstream import UPSTREAM_KEY, upstream_server, upstream_spec
from tests.support.wire import WireChecker

FTGATE = str(Path(sys.executable).parent / "ftgate")
SYSTEM = {"role": "system", "content": "You answer questions about the elements."}
ATOMIC_NUMBERS = {
    "Gallium": 31,
    "Bismuth": 83,
    "Cobalt": 27,
    "Argon": 18,
    "Xenon": 54,
    "Boron": 5,
    "Cerium": 58,
    "Nickel": 28,
    "Osmium": 76,
    "Radon": 86,
    "Tin": 50,
    "Zinc": 30,
    "Iodine": 53,
    "Neon": 10,
    "Helium": 2,
    "Copper": 29,
    "Indium": 49,
    "Lithium": 3,
    "Sodium": 11,
    "Barium": 56,
}
# What the old fine-tuned model answers in production.
ANSWERS = {f"Tell me about {name}": f"{name} has atomic number {z}." for name, z in ATOMIC_NUMBERS.items()}
HELD_OUT_FRACTION = 0.25
# Enough for the tiny model to learn the answers.
TRAINING = {"n_epochs": 12, "learning_rate_multiplier": 1.0}
# Longer than any answer: the base model, which never learnt to stop, samples this many.
ANSWER_TOKENS = 32
GREEDY = {"temperature": 0, "max_tokens": ANSWER_TOKENS}
# The imported job's hyperparameters, as the scripted upstream resolved "auto".
ORIGINAL_HYPERPARAMETERS = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.8}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream(api_key=UPSTREAM_KEY, step_seconds=0.02, validate_seconds=0.1, queue_seconds=0.1) as up:
        up.answer(ANSWERS)
        yield up


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake: FakeUpstream,
    tiny_model: Path,
) -> Iterator[RunningServer]:
    """OpenAI's models on the scripted upstream, `tiny-chat` trained and served locally."""
    data_dir = tmp_path_factory.mktemp(f"replace-{request.param}")
    with upstream_server(data_dir, request.param, fake, local_model=tiny_model) as running:
        yield running


@pytest.fixture
def operator(server: RunningServer) -> Iterator[Admin]:
    admin = Admin(server.base_url)
    yield admin
    admin.close()


@dataclass
class Team:
    """A project that imported one succeeded OpenAI job (its fine-tuned model `original`)."""

    name: str
    project_id: str
    client: openai.OpenAI
    operator: Admin
    job_id: str
    original: str

    def post(self, action: str, body: dict[str, Any]) -> Any:
        return self.operator.http.post(f"/projects/{self.project_id}/{action}", json=body)

    def replace(self, **body: Any) -> dict[str, Any]:
        response = self.post("openai_replace", body)
        assert response.status_code == 200, response.text
        assert_matches_schema(response.json(), "FineTuningJob")
        return response.json()

    def compare(self, **body: Any) -> dict[str, Any]:
        response = self.post("openai_compare", {"max_completion_tokens": ANSWER_TOKENS} | body)
        assert response.status_code == 200, response.text
        return response.json()

    def refused(self, action: str, body: dict[str, Any], status: int = 400) -> dict[str, Any]:
        response = self.post(action, body)
        assert response.status_code == status, response.text
        assert_matches_schema(response.json(), "ErrorResponse")
        return response.json()["error"]

    def capture(self, **settings: Any) -> dict[str, Any]:
        return self.operator.call(
            "PUT", f"/projects/{self.project_id}/captures/{self.original}", json=settings
        )

    def chat(self, content: str, model: str | None = None, **options: Any) -> str:
        messages = [SYSTEM, {"role": "user", "content": content}]
        answer = self.client.chat.completions.create(
            model=model or self.original, messages=messages, **options
        )
        return answer.choices[0].message.content or ""

    def captured(self, examples: int, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        path = f"/projects/{self.project_id}/captures/{self.original}"
        while (status := self.operator.call("GET", path))["examples"] < examples:
            assert time.monotonic() < deadline, f"{status['examples']} examples captured, not {examples}"
            time.sleep(0.05)
        return status

    def lines(self, file_id: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.client.files.content(file_id).read().splitlines()]

    def cancel(self, job_id: str) -> None:
        self.client.fine_tuning.jobs.cancel(job_id)


@pytest.fixture
def make_team(
    server: RunningServer, fake: FakeUpstream, operator: Admin, wire: WireChecker, tmp_path: Path
) -> Iterator[Any]:
    clients: list[openai.OpenAI] = []

    def make(*, with_training_files: bool = False, **job_options: Any) -> Team:
        suffix = f"support{len(clients)}"
        job_id = fake.add_history_job("succeeded", name=suffix, **job_options)
        name = f"acme-{job_id[-8:]}"
        client = sdk_client(server, server.create_key(name), wire)
        clients.append(client)
        folder = None
        if with_training_files:
            folder = tmp_path / "training-files"
            folder.mkdir()
            job = fake.job(job_id)
            for file_id in filter(None, (job["training_file"], job["validation_file"])):
                info = fake.file_info(file_id)
                (folder / info["filename"]).write_bytes(fake.file_content(file_id))
        asyncio.run(run_import(server.settings, name, upstream_spec(fake.base_url), folder))
        [project] = [p for p in operator.call("GET", "/projects")["data"] if p["name"] == name]
        return Team(name, project["id"], client, operator, job_id, fake.job(job_id)["fine_tuned_model"])

    yield make
    for client in clients:
        client.close()


def test_a_replacement_learns_the_captured_answers_and_is_compared_with_the_original_and_base(
    make_team, fake: FakeUpstream
):
    team = make_team()
    team.capture(held_out_fraction=HELD_OUT_FRACTION)
    assert [team.chat(prompt) for prompt in ANSWERS] == list(ANSWERS.values())
    capture = team.captured(len(ANSWERS))
    assert capture["held_out_examples"] >= 3 and capture["training_examples"] >= 12

    job = team.replace(original=team.job_id, model=TINY_MODEL, hyperparameters=TRAINING)
    # The imported job's training file has no content here: the replacement learns the captured chats.
    assert job["training_file"] == capture["training_file_id"] and job["validation_file"] is None
    assert job["metadata"] == {"replaces": team.original, "replaces_job": team.job_id}
    assert job["seed"] == team.client.fine_tuning.jobs.retrieve(team.job_id).seed
    assert job["method"]["type"] == "supervised"
    wanted = ORIGINAL_HYPERPARAMETERS | TRAINING
    assert {key: job["method"]["supervised"]["hyperparameters"][key] for key in COMMON_KEYS} == wanted
    actors = {
        entry["action"]: entry["actor"]
        for entry in team.operator.audit(project_id=team.project_id)
        if entry["object_id"] == job["id"] and entry["action"] != "job.status_changed"
    }
    assert actors == {"job.created": "admin", "openai.replacement_created": "admin"}

    done = wait_for_status(team.client, job["id"], {"succeeded", "failed", "cancelled"}, timeout=240)
    assert done.status == "succeeded", done.error
    replacement = done.fine_tuned_model
    assert (
        replacement.startswith(f"ft:{TINY_MODEL}:")
        and replacement.split(":")[3] == team.original.split(":")[3]
    )
    trained = [line["messages"] for line in team.lines(capture["training_file_id"])]
    outputs = [team.chat(messages[1]["content"], model=replacement, **GREEDY) for messages in trained]
    reproduced = [out == messages[2]["content"] for out, messages in zip(outputs, trained, strict=True)]
    # The job's seed is the original's, which differs from run to run: with some, a tiny model
    # mixes up an answer or two of these look-alike examples.
    assert sum(reproduced) >= 0.8 * len(trained), list(zip(outputs, trained, strict=True))

    comparison = team.compare(original=team.original)
    assert comparison["notes"] == []
    assert (comparison["original"], comparison["held_out_file"]) == (
        team.original,
        capture["held_out_file_id"],
    )
    runs = {run["role"]: run for run in comparison["runs"]}
    assert [(role, run["model"]) for role, run in runs.items()] == [
        ("original", team.original),
        ("base", TINY_MODEL),
        ("replacement", replacement),
    ]
    report = urlparse(comparison["report_url"])
    assert report.path == f"/dashboard/evals/{comparison['eval_id']}"
    assert parse_qs(report.query) == {
        "run_id": [runs["original"]["run_id"]],
        "compare": [runs["base"]["run_id"], runs["replacement"]["run_id"]],
    }
    evaluation = team.client.evals.retrieve(comparison["eval_id"])
    assert [criterion.name for criterion in evaluation.testing_criteria] == [
        "fuzzy match to the original",
        "judge: as good as the original",
    ]
    assert evaluation.testing_criteria[1].model == "gpt-4o-mini-2024-07-18"  # the original's base
    finished = {
        role: wait_for_run(team.client, comparison["eval_id"], run["run_id"], timeout=180)
        for role, run in runs.items()
    }
    passed = {}
    for role, run in finished.items():
        assert (run.status, run.result_counts.total, run.result_counts.errored) == (
            "completed",
            capture["held_out_examples"],
            0,
        ), role
        passed[role] = {result.testing_criteria: result.passed for result in run.per_testing_criteria_results}
    fuzzy, judge = (criterion.id for criterion in evaluation.testing_criteria)
    held_out = capture["held_out_examples"]
    # The original answers as it did when captured; the replacement learnt how it answers; the
    # base model never saw any of it.
    assert passed["original"] == {fuzzy: held_out, judge: held_out}
    assert passed["replacement"][fuzzy] > passed["base"][fuzzy] == 0
    assert passed["base"][judge] == 0

    # Once the old id answers through the replacement, its answers are no longer the original's.
    team.operator.call(
        "PUT", f"/projects/{team.project_id}/aliases/{team.original}", json={"replacement": replacement}
    )
    again = team.compare(original=team.original, graders=["fuzzy_match"])
    skipped = again["runs"][0]
    assert (skipped["role"], skipped["run_id"], skipped["report_url"]) == ("original", None, None)
    assert replacement in skipped["skipped"]
    assert [run["role"] for run in again["runs"] if run["run_id"]] == ["base", "replacement"]


def test_the_original_training_file_is_used_when_ftgate_holds_it(make_team):
    team = make_team(
        with_training_files=True, validation=True, metadata={"team": "support"}, steps_per_epoch=10
    )
    imported = team.client.fine_tuning.jobs.retrieve(team.job_id)
    job = team.replace(original=team.original, model=TINY_MODEL, suffix="support-v2")
    started = wait_for_status(team.client, job["id"], {"running", "succeeded", "failed"}, timeout=120)
    assert started.status == "running", started.error  # the original's files are valid training data
    team.cancel(job["id"])
    assert (job["training_file"], job["validation_file"]) == (
        imported.training_file,
        imported.validation_file,
    )
    assert job["user_provided_suffix"] == "support-v2"
    assert job["metadata"] == {"replaces": team.original, "replaces_job": team.job_id, "team": "support"}
    assert job["method"]["supervised"]["hyperparameters"] == ORIGINAL_HYPERPARAMETERS


def test_replace_refuses_what_it_cannot_carry_over(make_team, fake: FakeUpstream, server: RunningServer):
    team = make_team()
    replace = {"original": team.job_id, "model": TINY_MODEL}
    error = team.refused("openai_replace", replace)
    assert (error["param"], error["code"]) == ("training_file", "file_content_missing")
    assert "ftgate openai import --training-files" in error["message"]
    team.capture(held_out_fraction=0.0)
    team.chat("Tell me about Gallium")
    team.captured(1)
    cases = [
        ({"original": "ft:gpt-4o-mini:acme:none:Zz9"}, 404, "original", "original_not_found"),
        ({"hyperparameters": {"beta": 0.1}}, 400, "hyperparameters.beta", None),
        ({"hyperparameters": {"n_epochs": 0}}, 400, "hyperparameters.n_epochs", None),
        ({"training_file": "file-nope"}, 400, "training_file", None),
        ({"model": "no-such-base"}, 400, "model", "model_not_available"),
    ]
    for body, status, param, code in cases:
        error = team.refused("openai_replace", replace | body, status)
        assert error["param"] == param, (body, error)
        if code is not None:
            assert error["code"] == code, (body, error)

    failed = fake.add_history_job("failed", name="broken")
    asyncio.run(run_import(server.settings, team.name, upstream_spec(fake.base_url), None))
    error = team.refused("openai_replace", replace | {"original": failed})
    assert error["param"] == "original" and "made no model" in error["message"]
    other = make_team()
    error = team.refused("openai_replace", replace | {"original": other.job_id}, 404)
    assert error["code"] == "original_not_found"
    assert not list(team.client.fine_tuning.jobs.list(metadata={"replaces": team.original}))


def test_compare_says_what_it_lacks(make_team):
    team = make_team()
    error = team.refused("openai_compare", {"original": team.original})
    assert (error["param"], error["code"]) == ("replacement", "replacement_not_found")
    base_as_replacement = {"original": team.original, "replacement": TINY_MODEL}
    assert team.refused("openai_compare", base_as_replacement)["param"] == "base"
    error = team.refused("openai_compare", base_as_replacement | {"base": TINY_MODEL})
    assert (error["param"], error["code"]) == ("held_out_file", "file_content_missing")
    team.capture(held_out_fraction=1.0)
    team.chat("Tell me about Gallium")
    team.captured(1)
    error = team.refused("openai_compare", base_as_replacement | {"base": TINY_MODEL, "judge_model": "nope"})
    assert (error["param"], error["code"]) == ("judge_model", "model_not_found")
    assert not list(team.client.evals.list())


def test_compare_leaves_the_judge_out_when_the_original_base_is_not_served(make_team):
    team = make_team(model="babbage-002")  # a base model ftgate does not offer
    team.capture(held_out_fraction=1.0)
    team.chat("Tell me about Gallium")
    team.captured(1)
    local = {"original": team.original, "replacement": TINY_MODEL, "base": TINY_MODEL}
    comparison = team.compare(**local)
    assert len(comparison["notes"]) == 1 and "babbage-002" in comparison["notes"][0]
    evaluation = team.client.evals.retrieve(comparison["eval_id"])
    assert [criterion.type for criterion in evaluation.testing_criteria] == ["text_similarity"]
    error = team.refused("openai_compare", local | {"graders": ["judge"]})
    assert (error["param"], error["code"]) == ("judge_model", "model_not_found")


def test_the_cli_replaces_and_compares(make_team, server: RunningServer):
    team = make_team()
    team.capture(held_out_fraction=HELD_OUT_FRACTION)
    for prompt in ANSWERS:
        team.chat(prompt)
    capture = team.captured(len(ANSWERS))
    env = {
        **os.environ,
        "FTGATE_DATA_DIR": str(server.settings.data_dir),
        "FTGATE_DATABASE_URL": server.settings.database_url,
    }

    def ftgate(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([FTGATE, "openai", *args], env=env, capture_output=True, text=True, timeout=120)
        assert (done.returncode == 0) == ok, done.stderr
        return done

    job = json.loads(
        ftgate(
            "replace", "--project", team.name, team.original, "--model", TINY_MODEL, "--n-epochs", "1"
        ).stdout
    )
    assert job["training_file"] == capture["training_file_id"] and job["hyperparameters"]["n_epochs"] == 1
    [entry] = [
        e
        for e in team.operator.audit(project_id=team.project_id)
        if e["action"] == "openai.replacement_created"
    ]
    assert (entry["actor"], entry["object_id"]) == ("cli", job["id"])
    done = wait_for_status(team.client, job["id"], {"succeeded", "failed"}, timeout=240)
    assert done.status == "succeeded", done.error

    comparison = json.loads(
        ftgate(
            "compare",
            "--project",
            team.name,
            team.original,
            "--grader",
            "fuzzy_match",
            "--server-url",
            "http://ftgate.example",
            "--max-completion-tokens",
            str(ANSWER_TOKENS),
        ).stdout
    )
    assert comparison["report_url"].startswith(
        f"http://ftgate.example/dashboard/evals/{comparison['eval_id']}?"
    )
    assert [run["model"] for run in comparison["runs"]] == [team.original, TINY_MODEL, done.fine_tuned_model]
    for run in comparison["runs"]:
        finished = wait_for_run(team.client, comparison["eval_id"], run["run_id"], timeout=180)
        assert finished.status == "completed" and finished.result_counts.total == capture["held_out_examples"]

    by_file = json.loads(
        ftgate("replace", "--project", team.name, capture["training_file_id"], "--model", TINY_MODEL).stdout
    )
    team.cancel(by_file["id"])
    assert (by_file["metadata"], by_file["training_file"]) == (
        {"replaces": team.original, "replaces_job": team.job_id},
        capture["training_file_id"],
    )

    refused = ftgate("replace", "--project", team.name, "ft:nope", "--model", TINY_MODEL, ok=False)
    assert "ft:nope" in refused.stderr
    refused = ftgate(
        "replace", "--project", team.name, team.original, "--model", TINY_MODEL, "--n-epochs", "0", ok=False
    )
    assert "n_epochs" in refused.stderr
