"""Model aliases, driven with the official SDK: an old model id answered by a replacement the
project can chat with, at once or from a scheduled cutover on, with the unchanged SDK call; the
operator's admin API and `ftgate aliases` commands that manage them, and their audit log."""

import datetime as dt
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import openai
import pytest

from tests.conftest import TINY_MODEL, sdk_client
from tests.contract.test_admin_cli import as_json, ftgate
from tests.support.admin import Admin
from tests.support.evals import qa_eval, wait_for_run
from tests.support.fake_upstream import FakeUpstream
from tests.support.jobs import wait_for_status
from tests.support.server import RunningServer
from tests.support.tuned_models import TunedModel, seed_tuned_model
from tests.support.upstream import UPSTREAM_KEY, create_job, upstream_server
from tests.support.wire import WireChecker

MESSAGES = [{"role": "user", "content": "Tell me about Gallium"}]
GREEDY = {"temperature": 0, "max_tokens": 8}
# An OpenAI fine-tune that ftgate never knew (its history not imported).
FOREIGN_ID = "ft:gpt-4o-mini-2024-07-18:acme:support:AbC123"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream(api_key=UPSTREAM_KEY, step_seconds=0.02, validate_seconds=0.1, queue_seconds=0.1) as up:
        yield up


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake: FakeUpstream,
    tiny_model: Path,
) -> Iterator[RunningServer]:
    """OpenAI's models on the scripted upstream, `tiny-chat` served locally."""
    data_dir = tmp_path_factory.mktemp(f"aliases-{request.param}")
    with upstream_server(data_dir, request.param, fake, local_model=tiny_model) as running:
        yield running


@pytest.fixture
def admin(server: RunningServer) -> Iterator[Admin]:
    operator = Admin(server.base_url)
    yield operator
    operator.close()


class Project:
    def __init__(self, admin: Admin, server: RunningServer, wire: WireChecker) -> None:
        self.admin = admin
        self.id = admin.create_project(f"team-{secrets.token_hex(4)}")["id"]
        self.key = admin.create_key(self.id)["value"]
        self.client = sdk_client(server, self.key, wire)

    def aliases_path(self, name: str = "") -> str:
        return f"/projects/{self.id}/aliases" + (f"/{quote(name, safe=':')}" if name else "")

    def put(self, name: str, replacement: str, active_from: int | str | None = None) -> httpx.Response:
        body: dict = {"replacement": replacement}
        if active_from is not None:
            body["active_from"] = active_from
        return self.admin.http.put(self.aliases_path(name), json=body)

    def set_alias(self, name: str, replacement: str, active_from: int | str | None = None) -> dict:
        response = self.put(name, replacement, active_from)
        assert response.status_code == 200, response.text
        return response.json()

    def chat(self, model: str, **options) -> openai.types.chat.ChatCompletion:
        return self.client.chat.completions.create(model=model, messages=MESSAGES, **options)

    def streamed(self, model: str, **options) -> tuple[set[str], str]:
        chunks = list(
            self.client.chat.completions.create(model=model, messages=MESSAGES, stream=True, **options)
        )
        text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
        return {chunk.model for chunk in chunks}, text

    def chats_by_model(self) -> dict[str, int]:
        rows = self.admin.usage(project_id=self.id, group_by="model")["data"]
        return {row["model"]: row["chat_requests"] for row in rows if row["chat_requests"]}

    def audit(self) -> list[dict]:
        return [
            entry
            for entry in self.admin.audit(project_id=self.id)
            if entry["action"].startswith("model_alias")
        ]


@pytest.fixture
def new_project(admin: Admin, server: RunningServer, wire: WireChecker) -> Iterator:
    made: list[Project] = []

    def make() -> Project:
        made.append(Project(admin, server, wire))
        return made[-1]

    yield make
    for project in made:
        project.client.close()


@pytest.fixture
def project(new_project) -> Project:
    return new_project()


def tuned_model(server: RunningServer, project: Project, tiny_model: Path, suffix: str = "new") -> TunedModel:
    return seed_tuned_model(server.settings, project.key, TINY_MODEL, tiny_model, steps=[5], suffix=suffix)


def iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wait_until(moment: int) -> None:
    time.sleep(max(0.0, moment - time.time()) + 0.05)


def test_a_scheduled_cutover_switches_the_unchanged_sdk_call_at_its_time(
    server: RunningServer, project: Project, tiny_model: Path
):
    old = wait_for_status(project.client, create_job(project.client, 1, suffix="support").id, {"succeeded"})
    old_id = old.fine_tuned_model
    assert old_id.startswith("ft:gpt-4o-mini-2024-07-18:")
    new = tuned_model(server, project, tiny_model)
    expected = project.chat(new.name, **GREEDY).choices[0].message.content
    cutover = int(time.time()) + 3
    alias = project.set_alias(old_id, new.name, iso(cutover))
    assert alias == {
        "object": "admin.model_alias",
        "id": old_id,
        "project_id": project.id,
        "replacement": new.name,
        "active_from": cutover,
        "active": False,
        "created_at": alias["created_at"],
        "updated_at": alias["created_at"],
    }

    before = project.chat(old_id, **GREEDY)
    assert (before.model, before.choices[0].message.content) == (old_id, f"[{old_id}] Tell me about Gallium")
    assert project.streamed(old_id)[1] == f"[{old_id}] Tell me about Gallium"
    listed = [model for model in project.client.models.list() if model.id == old_id]
    assert [model.owned_by for model in listed] == [old.organization_id]

    wait_until(cutover)
    after = project.chat(old_id, **GREEDY)
    assert after.model == new.name, "the response names the model that served it"
    assert after.choices[0].message.content == expected
    assert after.system_fingerprint == project.chat(new.name, **GREEDY).system_fingerprint
    models, text = project.streamed(old_id, **GREEDY)
    assert (models, text) == ({new.name}, expected)
    assert project.admin.call("GET", project.aliases_path(old_id))["active"] is True
    listed = [model for model in project.client.models.list() if model.id == old_id]
    assert [(model.object, model.owned_by, model.created) for model in listed] == [
        ("model", old.organization_id, alias["created_at"])
    ]
    assert project.client.models.retrieve(old_id) == listed[0]
    # Billed as chats with the replacement: 2 direct, 2 through the alias; 2 before the cutover.
    assert project.chats_by_model() == {old_id: 2, new.name: 4}


def test_an_alias_for_an_id_ftgate_never_knew_answers_at_once_and_goes_when_deleted(
    server: RunningServer, project: Project, tiny_model: Path
):
    with pytest.raises(openai.NotFoundError):
        project.chat(FOREIGN_ID)
    assert FOREIGN_ID not in {model.id for model in project.client.models.list()}
    project.set_alias(FOREIGN_ID, TINY_MODEL)
    answer = project.chat(FOREIGN_ID, **GREEDY)
    assert answer.model == TINY_MODEL
    assert answer.choices[0].message.content == project.chat(TINY_MODEL, **GREEDY).choices[0].message.content
    assert answer.usage.completion_tokens == GREEDY["max_tokens"]
    assert project.streamed(FOREIGN_ID, stream_options={"include_usage": True})[0] == {TINY_MODEL}
    models = {model.id: model for model in project.client.models.list()}
    assert models[FOREIGN_ID].owned_by == project.client.models.retrieve(FOREIGN_ID).owned_by
    assert models[FOREIGN_ID].owned_by.startswith("org-")

    new = tuned_model(server, project, tiny_model)
    checkpoint = new.checkpoints[5]
    changed = project.set_alias(FOREIGN_ID, checkpoint)
    assert changed["replacement"] == checkpoint and changed["updated_at"] >= changed["created_at"]
    assert project.chat(FOREIGN_ID, **GREEDY).model == checkpoint
    project.set_alias(FOREIGN_ID, checkpoint)  # the same again: nothing changes, nothing is logged
    (listed,) = project.admin.call("GET", project.aliases_path())["data"]
    assert listed == project.admin.call("GET", project.aliases_path(FOREIGN_ID)) == changed

    with pytest.raises(openai.PermissionDeniedError):
        project.client.models.delete(FOREIGN_ID)
    deleted = project.admin.call("DELETE", project.aliases_path(FOREIGN_ID))
    assert deleted == {"object": "admin.model_alias.deleted", "id": FOREIGN_ID, "deleted": True}
    with pytest.raises(openai.NotFoundError) as gone:
        project.chat(FOREIGN_ID)
    assert gone.value.code == "model_not_found"
    assert FOREIGN_ID not in {model.id for model in project.client.models.list()}
    assert project.admin.http.get(project.aliases_path(FOREIGN_ID)).status_code == 404

    entries = project.audit()
    assert [(entry["action"], entry["actor"], entry["object_id"]) for entry in entries] == [
        ("model_alias.deleted", "admin", FOREIGN_ID),
        ("model_alias.changed", "admin", FOREIGN_ID),
        ("model_alias.created", "admin", FOREIGN_ID),
    ]
    assert entries[2]["details"] == {"replacement": TINY_MODEL, "active_from": None}
    assert entries[1]["details"] == {
        "replacement": checkpoint,
        "active_from": None,
        "previous": {"replacement": TINY_MODEL, "active_from": None},
    }
    assert entries[0]["details"] == {"replacement": checkpoint, "active_from": None}
    assert project.chats_by_model() == {TINY_MODEL: 3, checkpoint: 1}


def test_judges_and_eval_runs_sample_through_an_alias(project: Project):
    project.set_alias(FOREIGN_ID, TINY_MODEL)
    grader = {
        "type": "score_model",
        "name": "judge",
        "model": FOREIGN_ID,
        "input": [{"role": "user", "content": "Rate {{sample.output_text}} from 0 to 1."}],
        "sampling_params": {"temperature": 0, "max_completions_tokens": 4},
    }
    result = project.client.fine_tuning.alpha.graders.run(grader=grader, model_sample="Gallium")
    assert result.metadata.errors.model_grader_server_error is False
    assert project.chats_by_model() == {TINY_MODEL: 1}
    evaluation = qa_eval(project.client)
    run = project.client.evals.runs.create(
        evaluation.id,
        data_source={
            "type": "completions",
            "model": FOREIGN_ID,
            "source": {"type": "file_content", "content": [{"item": {"question": "Ga?", "answer": "Ga"}}]},
            "input_messages": {
                "type": "template",
                "template": [{"role": "user", "content": "{{item.question}}"}],
            },
            "sampling_params": {"temperature": 0, "max_completions_tokens": 4},
        },
    )
    finished = wait_for_run(project.client, evaluation.id, run.id)
    assert (finished.status, finished.model, finished.result_counts.errored) == ("completed", FOREIGN_ID, 0)
    assert project.chats_by_model() == {TINY_MODEL: 2}


def test_another_projects_alias_is_unknown(new_project):
    owner, other = new_project(), new_project()
    owner.set_alias(FOREIGN_ID, TINY_MODEL)
    with pytest.raises(openai.NotFoundError) as refused:
        other.chat(FOREIGN_ID)
    assert refused.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        other.client.models.retrieve(FOREIGN_ID)
    assert FOREIGN_ID not in {model.id for model in other.client.models.list()}
    assert other.admin.http.get(other.aliases_path(FOREIGN_ID)).status_code == 404
    assert other.admin.http.delete(other.aliases_path(FOREIGN_ID)).status_code == 404
    assert other.admin.call("GET", other.aliases_path())["data"] == []
    # Each project's alias of one name is its own.
    other.set_alias(FOREIGN_ID, "gpt-4o-mini")
    assert other.chat(FOREIGN_ID).model == "gpt-4o-mini-2024-07-18"
    assert owner.chat(FOREIGN_ID, **GREEDY).model == TINY_MODEL
    assert owner.admin.http.get(f"/projects/proj_unknown/aliases/{FOREIGN_ID}").status_code == 404


def test_an_alias_of_another_projects_model_cannot_be_made(
    server: RunningServer, new_project, tiny_model: Path
):
    owner, other = new_project(), new_project()
    theirs = tuned_model(server, owner, tiny_model)
    refused = other.put(FOREIGN_ID, theirs.name)
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "replacement"


@pytest.mark.parametrize(
    ("name", "body", "param"),
    [
        (FOREIGN_ID, {"replacement": "no-such-model"}, "replacement"),
        (FOREIGN_ID, {"replacement": FOREIGN_ID}, "replacement"),
        (FOREIGN_ID, {"replacement": ""}, "replacement"),
        (FOREIGN_ID, {}, "replacement"),
        (FOREIGN_ID, {"replacement": TINY_MODEL, "active_from": "next week"}, "active_from"),
        (FOREIGN_ID, {"replacement": TINY_MODEL, "active_from": -1}, "active_from"),
        (FOREIGN_ID, {"replacement": TINY_MODEL, "active_from": 1.5}, "active_from"),
        (FOREIGN_ID, {"replacement": TINY_MODEL, "colour": "red"}, None),
        (TINY_MODEL, {"replacement": "gpt-4o-mini"}, "alias"),
        ("x" * 513, {"replacement": TINY_MODEL}, "alias"),
    ],
)
def test_bad_aliases_are_400s_naming_the_field(project: Project, name: str, body: dict, param: str | None):
    response = project.admin.http.put(project.aliases_path(name), json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert project.admin.call("GET", project.aliases_path())["data"] == []
    assert project.audit() == []


def test_aliases_do_not_chain_nor_shadow_the_projects_own_models(
    server: RunningServer, project: Project, tiny_model: Path
):
    own = tuned_model(server, project, tiny_model)
    for shadowed in (own.name, own.checkpoints[5]):
        refused = project.put(shadowed, TINY_MODEL)
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "alias"
    project.set_alias(FOREIGN_ID, own.name)
    chained = project.put("ft:gpt-4o-mini-2024-07-18:acme:other:Zz9", FOREIGN_ID)
    assert chained.status_code == 400 and chained.json()["error"]["param"] == "replacement"
    assert "itself an alias" in chained.json()["error"]["message"]
    # A scheduled alias is an alias too: nothing may point at it, nor it at another.
    project.set_alias("gpt-4.1-mini", TINY_MODEL, int(time.time()) + 3600)
    assert project.put("gpt-4.1", "gpt-4.1-mini").json()["error"]["param"] == "replacement"
    # Its replacement cannot become an alias in turn.
    project.set_alias("gpt-4.1-nano", "gpt-4o-mini")
    assert project.put("gpt-4o-mini", TINY_MODEL).json()["error"]["param"] == "alias"
    assert len(project.admin.call("GET", project.aliases_path())["data"]) == 3
    # Before its time a scheduled alias is not a model of the project: the name is what it was.
    assert project.chat("gpt-4.1-mini").model == "gpt-4.1-mini-2025-04-14"
    assert project.client.models.retrieve("gpt-4.1-mini").owned_by == "system"


def test_aliases_are_for_the_operator_only(server: RunningServer, project: Project):
    path = f"{server.base_url}/admin{project.aliases_path(FOREIGN_ID)}"
    for headers in ({}, {"Authorization": f"Bearer {project.key}"}):
        for method in ("GET", "PUT", "DELETE"):
            response = httpx.request(method, path, headers=headers, json={"replacement": TINY_MODEL})
            assert response.status_code == 401, (method, response.text)
            assert response.json()["error"]["type"] == "invalid_request_error"
    assert project.audit() == []
    with pytest.raises(openai.NotFoundError):
        project.client.post(
            f"/projects/{project.id}/aliases", cast_to=object, body={"replacement": TINY_MODEL}
        )


def test_aliases_from_the_command_line(tmp_path: Path, tiny_model: Path):
    ftgate(tmp_path, "migrate")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / TINY_MODEL).symlink_to(tiny_model)
    ftgate(tmp_path, "projects", "create", "support")
    cutover = "2027-01-14T00:00Z"
    alias = as_json(
        ftgate(
            tmp_path,
            "aliases",
            "set",
            "--project",
            "support",
            FOREIGN_ID,
            TINY_MODEL,
            "--active-from",
            cutover,
        )
    )
    assert (alias["id"], alias["replacement"], alias["active_from"], alias["active"]) == (
        FOREIGN_ID,
        TINY_MODEL,
        int(dt.datetime(2027, 1, 14, tzinfo=dt.UTC).timestamp()),
        False,
    )
    assert as_json(ftgate(tmp_path, "aliases", "list", "--project", "support")) == [alias]
    assert as_json(ftgate(tmp_path, "aliases", "get", "--project", "support", FOREIGN_ID)) == alias
    refused = ftgate(tmp_path, "aliases", "set", "--project", "support", FOREIGN_ID, "nope", check=False)
    assert refused.returncode == 1 and "not a model this project can chat with" in refused.stderr
    bad_time = ftgate(
        tmp_path,
        "aliases",
        "set",
        "--project",
        "support",
        FOREIGN_ID,
        TINY_MODEL,
        "--active-from",
        "soon",
        check=False,
    )
    assert bad_time.returncode == 1 and "--active-from" in bad_time.stderr
    deleted = as_json(ftgate(tmp_path, "aliases", "delete", "--project", "support", FOREIGN_ID))
    assert deleted == {"object": "admin.model_alias.deleted", "id": FOREIGN_ID, "deleted": True}
    assert (
        "No such model alias"
        in ftgate(tmp_path, "aliases", "get", "--project", "support", FOREIGN_ID, check=False).stderr
    )
    entries = as_json(ftgate(tmp_path, "audit", "--project", "support"))
    assert [(entry["action"], entry["actor"]) for entry in entries][:2] == [
        ("model_alias.deleted", "cli"),
        ("model_alias.created", "cli"),
    ]
    assert json.dumps(entries[1]["details"]) == json.dumps(
        {"replacement": TINY_MODEL, "active_from": alias["active_from"]}
    )
