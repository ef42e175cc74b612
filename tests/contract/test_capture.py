"""Capture, driven like an operator and a team would: the admin API (and the CLI) turns it on for
a project and a model, the team's unchanged SDK chats go to the (scripted) upstream, and the
answers show up as training examples in a normal fine-tune file, and held-out prompts in an
evals file, exactly once each, on both databases."""

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest

from gateway.capture import examples
from gateway.validation import validate_chunks
from tests.conftest import sdk_client
from tests.support.admin import Admin
from tests.support.fake_upstream import FakeUpstream
from tests.support.jobs import wait_for_status
from tests.support.server import RunningServer, serve
from tests.support.upstream import UPSTREAM_KEY, supervised, upstream_server
from tests.support.wire import WireChecker

MODEL = "gpt-4o-mini"
UPSTREAM_MODEL = "gpt-4o-mini-2024-07-18"
SYSTEM = {"role": "system", "content": "Elle answers questions about the elements."}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look an element up.",
            "parameters": {"type": "object", "properties": {"input": {"type": "string"}}},
        },
    }
]
FTGATE = str(Path(sys.executable).parent / "ftgate")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream(
        api_key=UPSTREAM_KEY, step_seconds=0.01, validate_seconds=0.05, queue_seconds=0.05
    ) as up:
        yield up


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fake: FakeUpstream
) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp(f"capture-{request.param}")
    with upstream_server(data_dir, request.param, fake) as running:
        yield running


@pytest.fixture(autouse=True)
def no_faults_left(fake: FakeUpstream) -> Iterator[None]:
    yield
    fake.clear_faults()


@pytest.fixture
def operator(server: RunningServer) -> Iterator[Admin]:
    admin = Admin(server.base_url)
    yield admin
    admin.close()


@dataclass
class Team:
    project_id: str
    client: openai.OpenAI
    operator: Admin

    def captures(self, model: str = MODEL, **settings: Any) -> dict[str, Any]:
        return self.operator.call("PUT", f"/projects/{self.project_id}/captures/{model}", json=settings)

    def update(self, model: str = MODEL, **settings: Any) -> dict[str, Any]:
        return self.operator.call("PATCH", f"/projects/{self.project_id}/captures/{model}", json=settings)

    def stop(self, model: str = MODEL) -> dict[str, Any]:
        return self.operator.call("DELETE", f"/projects/{self.project_id}/captures/{model}")

    def status(self, model: str = MODEL) -> dict[str, Any]:
        return self.operator.call("GET", f"/projects/{self.project_id}/captures/{model}")

    def chat(self, content: str, model: str = MODEL, **extra: Any) -> str:
        messages = [SYSTEM, {"role": "user", "content": content}]
        return (
            self.client.chat.completions.create(model=model, messages=messages, **extra)
            .choices[0]
            .message.content
        )

    def stream(self, content: str, model: str = MODEL, **extra: Any) -> str:
        messages = [SYSTEM, {"role": "user", "content": content}]
        chunks = self.client.chat.completions.create(model=model, messages=messages, stream=True, **extra)
        return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)

    def wait_for(self, examples: int, model: str = MODEL, timeout: float = 20) -> dict[str, Any]:
        """The status once `examples` are recorded (recording follows the answer)."""
        deadline = time.monotonic() + timeout
        while (status := self.status(model))["examples"] < examples:
            if time.monotonic() > deadline:
                raise AssertionError(f"{status['examples']} examples recorded, not {examples}")
            time.sleep(0.05)
        return status

    def lines(self, file_id: str | None) -> list[dict[str, Any]]:
        if file_id is None:
            return []
        return [json.loads(line) for line in self.client.files.content(file_id).read().splitlines()]


@pytest.fixture
def make_team(server: RunningServer, operator: Admin, wire: WireChecker) -> Iterator[Any]:
    clients: list[openai.OpenAI] = []

    def make() -> Team:
        project = operator.create_project(f"capture-{secrets.token_hex(4)}")
        client = sdk_client(server, operator.create_key(project["id"])["value"], wire)
        clients.append(client)
        return Team(project["id"], client, operator)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def team(make_team) -> Team:
    return make_team()


def example(content: str, answer: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"messages": [SYSTEM, {"role": "user", "content": content}, answer], **extra}


def said(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def answer_to(content: str) -> str:
    """What the scripted upstream answers."""
    return f"[{UPSTREAM_MODEL}] {content}"


def test_plain_and_streamed_chats_are_recorded_once_each_with_the_upstreams_answers(team: Team):
    enabled = team.captures(held_out_fraction=0)
    assert (enabled["enabled"], enabled["examples"], enabled["training_file_id"]) == (True, 0, None)
    assert team.chat("Tell me about Gallium") == answer_to("Tell me about Gallium")
    assert team.stream("Tell me about Boron") == answer_to("Tell me about Boron")
    team.chat("Tell me about Argon", max_tokens=50)
    status = team.wait_for(3)

    lines = team.lines(status["training_file_id"])
    assert sorted(lines, key=json.dumps) == sorted(
        [
            example(f"Tell me about {name}", said(answer_to(f"Tell me about {name}")))
            for name in ("Gallium", "Boron", "Argon")
        ],
        key=json.dumps,
    )
    content = team.client.files.content(status["training_file_id"]).read()
    assert status["bytes"] == len(content) and status["training_examples"] == 3
    assert status["held_out_file_id"] is None and status["held_out_examples"] == 0

    described = team.client.files.retrieve(status["training_file_id"])
    assert (described.purpose, described.bytes, described.filename) == (
        "fine-tune",
        len(content),
        f"capture-{MODEL}.jsonl",
    )
    assert status["training_file_id"] in [file.id for file in team.client.files.list(purpose="fine-tune")]
    report = team.client.get(f"/files/{status['training_file_id']}/validation", cast_to=object)
    assert {key: value for key, value in report.items() if key not in ("object", "file_id")} == (
        validate_chunks([content]).to_dict()
    )
    assert report["n_examples"] == 3 and report["n_invalid"] == 0
    quoted = team.client.get(f"/files/{status['training_file_id']}/quote?model={MODEL}", cast_to=object)
    assert quoted["n_examples"] == 3 and quoted["billable_tokens_per_epoch"] == report["billable_tokens"]


def test_tool_calls_are_kept_plain_and_streamed(team: Team):
    team.captures(held_out_fraction=0)
    messages = [SYSTEM, {"role": "user", "content": "call lookup Gallium"}]
    plain = team.client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    [call] = plain.choices[0].message.tool_calls
    streamed = list(
        team.client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS, stream=True)
    )
    [streamed_call] = [
        delta for chunk in streamed for delta in chunk.choices[0].delta.tool_calls or [] if delta.id
    ]
    status = team.wait_for(2)

    def expected(call_id: str) -> dict[str, Any]:
        function = {"name": "lookup", "arguments": json.dumps({"input": "Gallium"})}
        answer = {
            "role": "assistant",
            "tool_calls": [{"id": call_id, "type": "function", "function": function}],
        }
        return example("call lookup Gallium", answer, tools=TOOLS)

    lines = team.lines(status["training_file_id"])
    assert sorted(lines, key=json.dumps) == sorted(
        [expected(call.id), expected(streamed_call.id)], key=json.dumps
    )
    report = team.client.get(f"/files/{status['training_file_id']}/validation", cast_to=object)
    assert report["n_examples"] == 2 and report["n_invalid"] == 0


def test_nothing_is_recorded_when_off_for_other_models_or_for_other_projects(team: Team, make_team):
    other = make_team()
    team.captures(held_out_fraction=0)
    other.chat("Tell me about Neon")  # no capture in its project
    team.chat("Tell me about Neon", model="gpt-4o")  # another model
    team.chat("Tell me about Helium")
    status = team.wait_for(1)
    time.sleep(0.5)
    assert team.lines(status["training_file_id"]) == [
        example("Tell me about Helium", said(answer_to("Tell me about Helium")))
    ]
    assert other.operator.http.get(f"/projects/{other.project_id}/captures/{MODEL}").status_code == 404
    assert other.client.files.list().data == []

    stopped = team.stop()
    assert stopped["enabled"] is False and stopped["examples"] == 1
    team.chat("Tell me about Krypton")
    team.stream("Tell me about Xenon")
    time.sleep(0.5)
    assert team.status()["examples"] == 1
    again = team.captures()
    assert again["enabled"] is True and again["training_file_id"] == status["training_file_id"]
    team.chat("Tell me about Radon")
    status = team.wait_for(2)
    assert [line["messages"][1]["content"] for line in team.lines(status["training_file_id"])] == [
        "Tell me about Helium",
        "Tell me about Radon",
    ]
    actions = [(entry["action"], entry["actor"]) for entry in team.operator.audit(project_id=team.project_id)]
    assert actions[:3] == [
        ("capture.enabled", "admin"),
        ("capture.disabled", "admin"),
        ("capture.enabled", "admin"),
    ]


def test_a_sampling_rate_of_zero_records_nothing(team: Team):
    team.captures(sample_rate=0, held_out_fraction=0)
    for name in ("Iron", "Cobalt", "Nickel"):
        team.chat(f"Tell me about {name}")
    team.stream("Tell me about Copper")
    time.sleep(0.5)
    assert team.status()["examples"] == 0
    assert team.update(sample_rate=1)["sample_rate"] == 1
    team.chat("Tell me about Zinc")
    status = team.wait_for(1)
    assert [line["messages"][1]["content"] for line in team.lines(status["training_file_id"])] == [
        "Tell me about Zinc"
    ]


def test_caps_on_examples_and_bytes_stop_capture(team: Team):
    team.captures(max_examples=2, held_out_fraction=0)
    for name in ("Lithium", "Sodium", "Potassium", "Rubidium"):
        team.chat(f"Tell me about {name}")
    time.sleep(0.5)
    status = team.status()
    assert status["examples"] == 2 and status["capped_at"] is not None
    names = [line["messages"][1]["content"] for line in team.lines(status["training_file_id"])]
    # Recording follows each answer, so two chats in a row may be recorded in either order.
    assert len(names) == 2 and set(names) <= {
        f"Tell me about {n}" for n in ("Lithium", "Sodium", "Potassium")
    }

    room = status["bytes"] + 10  # less than one more example
    resumed = team.update(max_examples=100, max_bytes=room)
    assert resumed["capped_at"] is None
    team.chat("Tell me about Caesium")
    time.sleep(0.5)
    status = team.status()
    assert status["examples"] == 2 and status["capped_at"] is not None and status["bytes"] <= room
    team.update(max_bytes=10_000_000)
    team.chat("Tell me about Francium")
    assert team.wait_for(3)["capped_at"] is None


def sorted_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(lines, key=lambda line: json.dumps(line, sort_keys=True))


def test_a_held_out_fraction_splits_prompts_by_their_hash(team: Team):
    team.captures(held_out_fraction=0.5)
    names = ["Hydrogen", "Helium", "Lithium", "Beryllium", "Boron", "Carbon", "Nitrogen", "Oxygen"]
    for name in names:
        team.chat(f"Tell me about {name}")
    status = team.wait_for(len(names))

    def held(name: str) -> bool:
        return examples.held_out([SYSTEM, {"role": "user", "content": f"Tell me about {name}"}], 0.5)

    kept_aside = [name for name in names if held(name)]
    assert 0 < len(kept_aside) < len(names)  # these eight prompts fall on both sides
    assert (status["held_out_examples"], status["training_examples"]) == (
        len(kept_aside),
        len(names) - len(kept_aside),
    )
    # Recording follows each answer, so two chats in a row may be recorded in either order.
    assert sorted_lines(team.lines(status["training_file_id"])) == sorted_lines(
        [
            example(f"Tell me about {name}", said(answer_to(f"Tell me about {name}")))
            for name in names
            if not held(name)
        ]
    )
    assert sorted_lines(team.lines(status["held_out_file_id"])) == sorted_lines(
        [
            {
                "item": {
                    "messages": [SYSTEM, {"role": "user", "content": f"Tell me about {name}"}],
                    "answer": answer_to(f"Tell me about {name}"),
                }
            }
            for name in kept_aside
        ]
    )
    held_out = team.client.files.retrieve(status["held_out_file_id"])
    assert (held_out.purpose, held_out.filename) == ("evals", f"capture-{MODEL}-held-out.jsonl")

    # The same prompt again lands on the same side.
    team.chat(f"Tell me about {kept_aside[0]}")
    assert team.wait_for(len(names) + 1)["held_out_examples"] == len(kept_aside) + 1


def test_requests_carrying_a_dropped_field_are_left_out(team: Team):
    team.captures(held_out_fraction=0, drop_fields=["user", "metadata.customer"])
    team.chat("Tell me about Gold", user="someone@example.com")
    team.stream("Tell me about Silver", metadata={"customer": "acme"})
    team.chat("Tell me about Platinum", metadata={"team": "support"})
    status = team.wait_for(1)
    time.sleep(0.5)
    lines = team.lines(status["training_file_id"])
    assert [line["messages"][1]["content"] for line in lines] == ["Tell me about Platinum"]


def test_a_stream_cut_short_is_not_recorded(team: Team, fake: FakeUpstream):
    team.captures(held_out_fraction=0)
    fake.add_fault("POST", r"/chat/completions$", "cut_stream")
    with pytest.raises(openai.APIConnectionError):  # the stream breaks off for the client too
        team.stream("Tell me about Mercury")
    team.stream("Tell me about Lead")
    status = team.wait_for(1)
    time.sleep(0.5)
    assert [line["messages"][1]["content"] for line in team.lines(status["training_file_id"])] == [
        "Tell me about Lead"
    ]
    assert team.status()["examples"] == 1


def test_concurrent_chats_on_two_replicas_lose_and_tear_no_line(
    team: Team, server: RunningServer, wire: WireChecker
):
    """A second gateway on the same database and blob folder records at the same time."""
    team.captures(held_out_fraction=0.25)
    key = team.operator.create_key(team.project_id)["value"]
    with serve(server.settings) as replica, sdk_client(replica, key, wire) as at_replica:
        clients = [team.client, at_replica]

        def ask(i: int) -> None:
            messages = [SYSTEM, {"role": "user", "content": f"Question {i}"}]
            if i % 2:
                list(clients[i % 2].chat.completions.create(model=MODEL, messages=messages, stream=True))
            else:
                clients[i % 2].chat.completions.create(model=MODEL, messages=messages)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(ask, range(24)))
        status = team.wait_for(24)
    questions = [line["messages"][1]["content"] for line in team.lines(status["training_file_id"])]
    questions += [line["item"]["messages"][1]["content"] for line in team.lines(status["held_out_file_id"])]
    assert sorted(questions) == sorted(f"Question {i}" for i in range(24))
    content = team.client.files.content(status["training_file_id"]).read()
    report = validate_chunks([content])
    assert report.n_examples == status["training_examples"] and report.is_valid
    stored = team.client.get(f"/files/{status['training_file_id']}/validation", cast_to=object)
    assert stored["total_tokens"] == report.total_tokens


def test_the_captured_file_trains(team: Team):
    team.captures(held_out_fraction=0)
    for i in range(10):
        team.chat(f"Tell me about element {i}")
    status = team.wait_for(10)
    job = team.client.fine_tuning.jobs.create(
        model=MODEL, training_file=status["training_file_id"], method=supervised(1), suffix="captured"
    )
    done = wait_for_status(team.client, job.id, {"succeeded", "failed", "cancelled"})
    assert done.status == "succeeded", done.error
    assert done.fine_tuned_model.startswith(f"ft:{UPSTREAM_MODEL}:")

    # Capture on the fine-tuned model itself: the model the clients name is the key.
    team.captures(model=done.fine_tuned_model, held_out_fraction=0)
    team.chat("Tell me about Tin", model=done.fine_tuned_model)
    tuned = team.wait_for(1, model=done.fine_tuned_model)
    assert team.lines(tuned["training_file_id"]) == [
        example("Tell me about Tin", said(f"[{done.fine_tuned_model}] Tell me about Tin"))
    ]
    assert team.status()["examples"] == 10


def test_unknown_projects_and_captures_and_bad_settings(team: Team, operator: Admin, server: RunningServer):
    missing = operator.http.get(f"/projects/proj_nope/captures/{MODEL}")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "invalid_request_error"
    assert operator.http.get(f"/projects/{team.project_id}/captures/{MODEL}").status_code == 404
    assert operator.http.delete(f"/projects/{team.project_id}/captures/{MODEL}").status_code == 404
    bad = operator.http.put(f"/projects/{team.project_id}/captures/{MODEL}", json={"sample_rate": 2})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "sample_rate"
    assert operator.call("GET", f"/projects/{team.project_id}/captures")["data"] == []
    refused = Admin(server.base_url)
    refused.http.headers["authorization"] = "Bearer sk-not-the-admin"
    assert refused.http.put(f"/projects/{team.project_id}/captures/{MODEL}", json={}).status_code == 401
    refused.close()


def test_the_cli_turns_capture_on_reports_it_and_turns_it_off(team: Team, server: RunningServer):
    env = {**os.environ, "FTGATE_DATA_DIR": str(server.settings.data_dir)}
    env["FTGATE_DATABASE_URL"] = server.settings.database_url

    def ftgate(*args: str) -> Any:
        done = subprocess.run(
            [FTGATE, "capture", *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    project = ["--project", team.project_id, "--model", MODEL]
    enabled = ftgate(
        "enable", *project, "--held-out-fraction", "0", "--drop-field", "user", "--max-examples", "5"
    )
    assert (enabled["enabled"], enabled["drop_fields"], enabled["max_examples"]) == (True, ["user"], 5)
    team.chat("Tell me about Bismuth")
    team.chat("Tell me about Polonium", user="someone")
    team.wait_for(1)
    assert ftgate("update", *project, "--sample-rate", "0.5")["sample_rate"] == 0.5
    [status] = ftgate("status", "--project", team.project_id)
    assert (status["examples"], status["training_file_id"]) == (1, team.status()["training_file_id"])
    assert ftgate("disable", *project)["enabled"] is False
    entries = team.operator.audit(project_id=team.project_id)
    assert [(entry["action"], entry["actor"]) for entry in entries[:3]] == [
        ("capture.disabled", "cli"),
        ("capture.updated", "cli"),
        ("capture.enabled", "cli"),
    ]
    assert entries[2]["details"]["drop_fields"] == ["user"]
