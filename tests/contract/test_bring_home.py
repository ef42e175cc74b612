"""A model Together trained, brought home: its adapter downloaded (`/finetune/download`, through
the presigned URL it redirects to) and unpacked, and chat with the model answered by ftgate's own
engine on the base model's local twin from then on; its checkpoints stay at Together."""

import io
import json
import os
import secrets
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import openai
import pytest
import zstandard
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from tests.conftest import TINY_MODEL, sdk_client
from tests.support.admin import Admin
from tests.support.fake_together import FakeTogether
from tests.support.jobs import upload, wait_for_status
from tests.support.server import RunningServer
from tests.support.together import scripted_together, together_server
from tests.support.upstream import LLAMA, supervised, upstream_fixtures
from tests.support.wire import WireChecker

FTGATE = str(Path(sys.executable).parent / "ftgate")
QUESTION = [{"role": "user", "content": "Tell me about Gallium"}]


def adapter_archive(tiny_model: Path, folder: Path) -> bytes:
    """A LoRA adapter of the tiny model with random weights (so it changes the model's answers),
    packed as Together packs one: a zstd-compressed tar with the adapter in a folder."""
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    config = LoraConfig(r=4, lora_alpha=16, target_modules="all-linear", init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(folder / "adapter")
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w") as tar:
        tar.add(folder / "adapter", arcname="model-output")
    return zstandard.ZstdCompressor().compress(packed.getvalue())


@contextmanager
def adapter_serving_together(
    tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FakeTogether]:
    """The scripted Together, every completed job's adapter one of the tiny model."""
    with scripted_together() as up:
        up.serve_adapter(adapter_archive(tiny_model, tmp_path_factory.mktemp("adapter")))
        yield up


def home_server(
    data_dir: Path, database: str, fake: FakeTogether, tiny_model: Path
) -> AbstractContextManager[RunningServer]:
    """The Llama model on `fake`, its adapters served at home on the tiny model."""
    return together_server(data_dir, database, fake, home=tiny_model)


fake, server, tidy_fake, jobs_before = upstream_fixtures(
    "home",
    adapter_serving_together,
    home_server,
    fake_needs=("tiny_model", "tmp_path_factory"),
    server_needs=("tiny_model",),
)


@pytest.fixture
def admin(server: RunningServer) -> Iterator[Admin]:
    operator = Admin(server.base_url)
    yield operator
    operator.http.close()


@pytest.fixture
def project(server: RunningServer, admin: Admin, wire: WireChecker) -> Iterator[tuple[str, openai.OpenAI]]:
    name = f"home-{secrets.token_hex(4)}"
    project_id = admin.create_project(name)["id"]
    client = sdk_client(server, server.create_key(name), wire)
    yield project_id, client
    client.close()


def trained_model(client: openai.OpenAI, suffix: str) -> str:
    file_id = upload(client, "elle-limericks.jsonl")
    job = client.fine_tuning.jobs.create(
        model=LLAMA, training_file=file_id, method=supervised(2), suffix=suffix
    )
    done = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"})
    assert done.status == "succeeded", done.error
    assert done.fine_tuned_model is not None
    return done.fine_tuned_model


def greedy(client: openai.OpenAI, model: str) -> openai.types.chat.ChatCompletion:
    return client.chat.completions.create(
        model=model, messages=QUESTION, temperature=0, max_tokens=12, seed=1
    )


def test_a_model_brought_home_is_answered_here_and_its_checkpoints_at_together(
    project: tuple[str, openai.OpenAI], admin: Admin, fake: FakeTogether
):
    project_id, client = project
    model = trained_model(client, "home")
    assert greedy(client, model).choices[0].message.content == f"[{model}] Tell me about Gallium"
    chats_before, downloads_before = len(fake.chats), fake.downloads

    home = admin.call("POST", f"/projects/{project_id}/home_adapters", json={"model": model})
    job = next(iter(client.fine_tuning.jobs.list(limit=1)))
    assert home["object"] == "admin.home_adapter"
    assert (home["model"], home["fine_tuning_job_id"], home["base_model"]) == (model, job.id, TINY_MODEL)
    assert home["bytes"] > 0 and len(home["sha256"]) == 64
    assert fake.downloads == downloads_before + 1

    answered = greedy(client, model)
    assert answered.model == model
    assert not answered.choices[0].message.content.startswith(f"[{model}]")
    assert answered.choices[0].message.content != greedy(client, TINY_MODEL).choices[0].message.content
    streamed = client.chat.completions.create(
        model=model, messages=QUESTION, temperature=0, max_tokens=12, seed=1, stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == (
        answered.choices[0].message.content
    )
    assert len(fake.chats) == chats_before

    checkpoint = next(iter(client.fine_tuning.jobs.checkpoints.list(job.id))).fine_tuned_model_checkpoint
    upstream_chats = fake.requests_to("POST", r"^/v1/chat/completions$")
    with pytest.raises(openai.NotFoundError, match="Unable to access model"):
        greedy(client, checkpoint)  # Together's answer: it serves no checkpoints of this job
    assert fake.requests_to("POST", r"^/v1/chat/completions$") == upstream_chats + 1

    again = admin.call("POST", f"/projects/{project_id}/home_adapters", json={"model": model})
    assert again == home and fake.downloads == downloads_before + 1
    [entry] = [e for e in admin.audit(project_id=project_id) if e["action"] == "model.brought_home"]
    assert entry["object_id"] == model and entry["details"]["sha256"] == home["sha256"]


def test_only_the_projects_upstream_models_can_be_brought_home(
    project: tuple[str, openai.OpenAI], admin: Admin, server: RunningServer, wire: WireChecker
):
    project_id, client = project
    model = trained_model(client, "mine")
    other = admin.create_project(f"other-{secrets.token_hex(4)}")["id"]
    for owner, name, status, code in [
        (other, model, 404, "model_not_found"),
        (project_id, "ft:unknown", 404, "model_not_found"),
        (project_id, LLAMA, 404, "model_not_found"),
    ]:
        response = admin.http.post(f"/projects/{owner}/home_adapters", json={"model": name})
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code


def test_an_archive_that_is_not_an_adapter_is_a_502_and_changes_nothing(
    project: tuple[str, openai.OpenAI], admin: Admin, fake: FakeTogether, tiny_model: Path, tmp_path: Path
):
    project_id, client = project
    model = trained_model(client, "broken")
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w:gz") as tar:
        info = tarfile.TarInfo("../../escape.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    try:
        for archive in (b"not an archive at all", packed.getvalue()):
            fake.serve_adapter(archive)
            response = admin.http.post(f"/projects/{project_id}/home_adapters", json={"model": model})
            assert response.status_code == 502, response.text
            assert "cannot be served" in response.json()["error"]["message"]
        fake.add_fault("GET", r"^/signed/", "status", status=503, times=3)
        fake.serve_adapter(adapter_archive(tiny_model, tmp_path))
        response = admin.http.post(f"/projects/{project_id}/home_adapters", json={"model": model})
        assert response.status_code == 502, response.text
        assert greedy(client, model).choices[0].message.content.startswith(f"[{model}]")
    finally:
        fake.clear_faults()
        fake.serve_adapter(adapter_archive(tiny_model, tmp_path / "again"))
    assert admin.http.post(f"/projects/{project_id}/home_adapters", json={"model": model}).status_code == 200
    assert not greedy(client, model).choices[0].message.content.startswith(f"[{model}]")


def test_the_cli_brings_a_model_home(project: tuple[str, openai.OpenAI], server: RunningServer, admin: Admin):
    project_id, client = project
    model = trained_model(client, "cli")
    settings = server.settings
    upstreams = [
        spec.model_dump(mode="json") | {"api_key": spec.api_key.get_secret_value()}
        for spec in settings.upstreams
    ]
    env = {
        **os.environ,
        "FTGATE_DATA_DIR": str(settings.data_dir),
        "FTGATE_DATABASE_URL": settings.database_url,
        "FTGATE_UPSTREAMS": json.dumps(upstreams),
        "FTGATE_BASE_MODELS": json.dumps([spec.model_dump(mode="json") for spec in settings.base_models]),
    }
    done = subprocess.run(
        [FTGATE, "models", "bring-home", "--project", project_id, model],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["model"] == model
    assert not greedy(client, model).choices[0].message.content.startswith(f"[{model}]")
    [entry] = [e for e in admin.audit(project_id=project_id) if e["action"] == "model.brought_home"]
    assert entry["actor"] == "cli"


def test_a_model_brought_home_exports_its_adapter_and_its_checkpoints_stay_at_together(
    project: tuple[str, openai.OpenAI], admin: Admin, server: RunningServer, tmp_path: Path
):
    project_id, client = project
    model = trained_model(client, "export")
    job = next(iter(client.fine_tuning.jobs.list(limit=1)))

    def export(name: str) -> httpx.Response:
        return httpx.get(
            f"{server.base_url}/v1/models/{name}/weights",
            headers={"authorization": f"Bearer {client.api_key}"},
            timeout=60,
        )

    refused = export(model)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "weights_held_upstream" and "Bring the model home first" in error["message"]

    admin.call("POST", f"/projects/{project_id}/home_adapters", json={"model": model})
    exported = export(model)
    assert exported.status_code == 200, exported.text
    with tarfile.open(fileobj=io.BytesIO(exported.content)) as tar:
        tar.extractall(tmp_path, filter="data")
    [folder] = list(tmp_path.iterdir())
    assert json.loads((folder / "ftgate-export.json").read_text())["base_model"] == TINY_MODEL
    home = server.settings.artifacts_dir / job.id / "model"
    assert (folder / "adapter_model.safetensors").read_bytes() == (
        home / "adapter_model.safetensors"
    ).read_bytes()

    checkpoint = next(iter(client.fine_tuning.jobs.checkpoints.list(job.id))).fine_tuned_model_checkpoint
    held = export(checkpoint).json()["error"]
    assert held["code"] == "weights_held_upstream" and "Bring the model home" not in held["message"]
