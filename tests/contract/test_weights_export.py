"""GET /v1/models/{model}/weights and `ftgate models export`: a fine-tuned model's adapter, or its
base model with the adapter merged in, downloaded as a tar that peft (or transformers alone) loads
and that answers as ftgate's chat does; the rest of the API driven by the official SDK."""

import io
import json
import os
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

from gateway import artifacts
from tests.conftest import TINY_MODEL, sdk_client
from tests.support.jobs import upload, wait_for_status
from tests.support.server import RunningServer
from tests.support.tuned_models import seed_tuned_model
from tests.support.wire import WireChecker

FTGATE = str(Path(sys.executable).parent / "ftgate")
QUESTION = [{"role": "user", "content": "Write a limerick about Elle."}]
MAX_TOKENS = 12
UPSTREAM_BASE = "gpt-4o-mini-2024-07-18"  # on the parked `openai` upstream


@dataclass(frozen=True)
class Trained:
    key: str
    model: str
    job_id: str
    checkpoint: str  # an earlier epoch's, not the model's own
    checkpoint_step: int


@pytest.fixture(scope="module")
def trained(server: RunningServer) -> Trained:
    """A model trained here for three epochs (one checkpoint per epoch)."""
    key = server.create_key("weights-export")
    wire = WireChecker()
    with sdk_client(server, key, wire) as client:
        file_id = upload(client, "elle-limericks.jsonl")
        job = client.fine_tuning.jobs.create(
            model=TINY_MODEL,
            training_file=file_id,
            suffix="export",
            seed=3,
            method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}},
        )
        done = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=300)
        assert done.status == "succeeded", done.error
        assert done.fine_tuned_model is not None
        checkpoints = list(client.fine_tuning.jobs.checkpoints.list(job.id))
    earlier = next(c for c in checkpoints if c.fine_tuned_model_checkpoint != done.fine_tuned_model)
    assert not wire.failures, wire.failures
    return Trained(
        key, done.fine_tuned_model, job.id, earlier.fine_tuned_model_checkpoint, earlier.step_number
    )


@pytest.fixture
def client(server: RunningServer, trained: Trained, wire: WireChecker):
    with sdk_client(server, trained.key, wire) as sdk:
        yield sdk


def download(server: RunningServer, key: str, model: str, **params: str) -> httpx.Response:
    return httpx.get(
        f"{server.base_url}/v1/models/{model}/weights",
        params=params,
        headers={"authorization": f"Bearer {key}"},
        timeout=300,
    )


def extracted(archive: bytes, into: Path) -> Path:
    """The archive unpacked (tarfile's `data` filter refuses anything unsafe); its one folder."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
        tar.extractall(into, filter="data")
    [folder] = list(into.iterdir())
    return folder


def chat_answer(client: openai.OpenAI, model: str) -> str:
    completion = client.chat.completions.create(
        model=model, messages=QUESTION, temperature=0, max_tokens=MAX_TOKENS
    )
    return completion.choices[0].message.content


def greedy_answer(model, tokenizer) -> str:
    """What ftgate's engine does at temperature 0: the chat template, greedy decoding, stopping
    at the end-of-sequence tokens of the model's generation config and of its tokenizer."""
    prompt = tokenizer.apply_chat_template(
        QUESTION, add_generation_prompt=True, return_dict=True, return_tensors="pt"
    )
    configured = model.generation_config.eos_token_id
    eos = [*(configured if isinstance(configured, list) else [configured]), tokenizer.eos_token_id]
    output = model.generate(
        **prompt,
        max_new_tokens=MAX_TOKENS,
        do_sample=False,
        eos_token_id=[token for token in eos if token is not None],
        pad_token_id=tokenizer.pad_token_id,
    )
    return tokenizer.decode(output[0, prompt["input_ids"].shape[1] :], skip_special_tokens=True)


def with_adapter(tiny_model: Path, adapter: Path):
    base = AutoModelForCausalLM.from_pretrained(tiny_model, local_files_only=True)
    return PeftModel.from_pretrained(base, adapter).eval()


def test_the_adapter_loads_with_peft_and_answers_as_ftgate_does(
    server: RunningServer, client: openai.OpenAI, trained: Trained, tiny_model: Path, tmp_path: Path
):
    assert trained.model in [model.id for model in client.models.list()]
    response = download(server, trained.key, trained.model)
    assert response.status_code == 200, response.text
    safe = trained.model.replace(":", "-")
    assert response.headers["content-type"] == "application/x-tar"
    assert response.headers["content-disposition"] == f'attachment; filename="{safe}-adapter.tar"'
    assert int(response.headers["content-length"]) == len(response.content)

    folder = extracted(response.content, tmp_path)
    assert folder.name == f"{safe}-adapter"
    names = {path.name for path in folder.iterdir()}
    assert {
        "adapter_config.json",
        "adapter_model.safetensors",
        "tokenizer.json",
        "ftgate-export.json",
    } <= names
    assert "model.safetensors" not in names and "config.json" not in names
    metadata = json.loads((folder / "ftgate-export.json").read_text())
    assert metadata["model"] == trained.model and metadata["base_model"] == TINY_MODEL
    assert (metadata["format"], metadata["fine_tuning_job_id"]) == ("adapter", trained.job_id)
    trained_here = artifacts.model_dir(server.settings.artifacts_dir, trained.job_id)
    assert (folder / "adapter_model.safetensors").read_bytes() == (
        trained_here / "adapter_model.safetensors"
    ).read_bytes()

    tokenizer = AutoTokenizer.from_pretrained(folder)  # the archive's own tokenizer and template
    answer = greedy_answer(with_adapter(tiny_model, folder), tokenizer)
    assert answer == chat_answer(client, trained.model)
    assert answer != chat_answer(client, TINY_MODEL), "the adapter changes nothing: the test proves nothing"


def test_merged_weights_load_with_transformers_alone_and_one_merge_serves_concurrent_downloads(
    server: RunningServer, client: openai.OpenAI, trained: Trained, tmp_path: Path
):
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(
            lambda _: download(server, trained.key, trained.model, format="merged"), range(2)
        )
    assert first.status_code == second.status_code == 200, first.text
    assert first.content == second.content
    assert first.headers["content-disposition"].endswith('-merged.tar"')
    merged_dir = server.settings.artifacts_dir / "merged"
    assert len(list(merged_dir.iterdir())) == 1, "the same weights were merged twice, or a build was left"

    folder = extracted(first.content, tmp_path)
    names = {path.name for path in folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "ftgate-export.json"} <= names
    assert not any(name.startswith("adapter_") for name in names)
    assert json.loads((folder / "ftgate-export.json").read_text())["format"] == "merged"
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()
    answer = greedy_answer(model, AutoTokenizer.from_pretrained(folder))
    assert answer == chat_answer(client, trained.model)
    assert download(server, trained.key, trained.model, format="merged").content == first.content


def test_a_checkpoint_exports_its_own_adapter(
    server: RunningServer, client: openai.OpenAI, trained: Trained, tiny_model: Path, tmp_path: Path
):
    response = download(server, trained.key, trained.checkpoint)
    assert response.status_code == 200, response.text
    folder = extracted(response.content, tmp_path)
    on_disk = artifacts.checkpoint_dir(server.settings.artifacts_dir, trained.job_id, trained.checkpoint_step)
    weights = (folder / "adapter_model.safetensors").read_bytes()
    assert weights == (on_disk / "adapter_model.safetensors").read_bytes()
    final = artifacts.model_dir(server.settings.artifacts_dir, trained.job_id)
    assert weights != (final / "adapter_model.safetensors").read_bytes()
    answer = greedy_answer(with_adapter(tiny_model, folder), AutoTokenizer.from_pretrained(folder))
    assert answer == chat_answer(client, trained.checkpoint)


def error_of(response: httpx.Response, name: str) -> tuple[int, dict]:
    body = response.json()["error"]
    return response.status_code, {**body, "message": body["message"].replace(name, "<model>")}


def test_another_projects_model_a_deleted_one_and_an_unknown_one_are_the_same_404(
    server: RunningServer, make_client, tiny_model: Path
):
    owner, intruder = make_client(), make_client()
    tuned = seed_tuned_model(server.settings, owner.api_key, TINY_MODEL, tiny_model, steps=[2])
    assert download(server, owner.api_key, tuned.name).status_code == 200
    assert tuned.name not in [model.id for model in intruder.models.list()]
    with pytest.raises(openai.NotFoundError) as retrieved:
        intruder.models.retrieve(tuned.name)
    unknown = tuned.name[:-4] + "zzzz"
    expected = error_of(download(server, intruder.api_key, unknown), unknown)
    assert expected[0] == 404 and expected[1]["code"] == "model_not_found"
    assert expected[1]["message"] == retrieved.value.body["message"].replace(tuned.name, "<model>")
    for name in (tuned.name, tuned.checkpoints[2]):
        assert error_of(download(server, intruder.api_key, name), name) == expected
        assert error_of(download(server, intruder.api_key, name, format="merged"), name) == expected

    assert owner.models.delete(tuned.name).deleted
    assert error_of(download(server, owner.api_key, tuned.name), tuned.name) == expected


def test_an_upstreams_model_a_base_model_and_a_bad_format_are_clear_400s(
    server: RunningServer, client: openai.OpenAI, trained: Trained
):
    upstream = seed_tuned_model(server.settings, client.api_key, UPSTREAM_BASE, None, [3], provider="openai")
    assert upstream.name in [model.id for model in client.models.list()]
    for name in (upstream.name, upstream.checkpoints[3]):
        response = download(server, client.api_key, name)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert (error["type"], error["param"], error["code"]) == (
            "invalid_request_error",
            "model",
            "weights_held_upstream",
        )
        assert "held by the upstream `openai` that trained it" in error["message"]

    base = download(server, client.api_key, TINY_MODEL).json()["error"]
    assert (base["param"], base["code"]) == ("model", "not_fine_tuned")
    response = download(server, client.api_key, trained.model, format="gguf")
    assert response.status_code == 400 and response.json()["error"]["param"] == "format"


def ftgate_export(server: RunningServer, key: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENAI_BASE_URL": f"{server.base_url}/v1", "OPENAI_API_KEY": key}
    return subprocess.run(
        [FTGATE, "models", "export", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_the_cli_streams_the_archive_to_a_file(
    server: RunningServer, trained: Trained, make_client, tmp_path: Path
):
    done = ftgate_export(server, trained.key, trained.model, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    saved = tmp_path / f"{trained.model.replace(':', '-')}-adapter.tar"
    assert done.stdout.strip() == saved.name
    assert saved.read_bytes() == download(server, trained.key, trained.model).content

    out = tmp_path / "merged.tar"
    done = ftgate_export(server, trained.key, trained.model, "--merged", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with tarfile.open(out) as tar:
        assert any(name.endswith("/model.safetensors") for name in tar.getnames())

    intruder = make_client()
    refused = ftgate_export(
        server, intruder.api_key, trained.model, "--out", str(tmp_path / "x.tar"), cwd=tmp_path
    )
    assert refused.returncode != 0
    assert "404" in refused.stderr and "does not exist" in refused.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([saved.name, out.name])
