"""Base models whose jobs train in two processes (devices_per_job 2, torchrun with gloo on the CPU),
each holding the whole model (DDP) or half of its weights (FSDP): their jobs look like any local
job's, and a job whose processes are killed resumes from its last state."""

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from gateway.catalog import DEFAULT_BASE_MODELS, LOCAL_MODEL_SIDECAR, BaseModelSpec
from tests.conftest import TINY_MODEL, tiny_model_server
from tests.support.jobs import many_examples, metrics_events, upload, wait_for_status
from tests.support.processes import descendants_running
from tests.support.server import RunningServer

TWO_PROCESSES = "tiny-chat-2p"
SHARDED = "tiny-chat-fsdp"
MULTI_PROCESS = [TWO_PROCESSES, SHARDED]


@pytest.fixture(scope="module")
def two_process_server(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Iterator[RunningServer]:
    # Trained like the tiny model found in the models folder (multiplier 1.0, its ftgate.json's
    # learning rate), in two processes.
    sidecar = json.loads((tiny_model / LOCAL_MODEL_SIDECAR).read_text())
    specs = [
        BaseModelSpec(
            id=name,
            provider="local",
            path=tiny_model,
            learning_rate_multiplier=1.0,
            devices_per_job=2,
            sharding=sharding,
            **sidecar,
        )
        for name, sharding in ((TWO_PROCESSES, "ddp"), (SHARDED, "fsdp"))
    ]
    with tiny_model_server(
        tmp_path_factory.mktemp("two-processes"),
        tiny_model,
        "sqlite",
        base_models=[*DEFAULT_BASE_MODELS, *specs],
        reconcile_interval_seconds=1.0,
    ) as running:
        yield running


@pytest.fixture
def client(two_process_server: RunningServer) -> openai.OpenAI:
    key = two_process_server.create_key("two-processes")
    return openai.OpenAI(base_url=f"{two_process_server.base_url}/v1", api_key=key, max_retries=0)


def create(client: openai.OpenAI, model: str, file_id: str, n_epochs: int) -> str:
    hyperparameters = {"n_epochs": n_epochs, "batch_size": 2}
    return client.fine_tuning.jobs.create(
        model=model,
        training_file=file_id,
        seed=7,
        method={"type": "supervised", "supervised": {"hyperparameters": hyperparameters}},
    ).id


def losses(client: openai.OpenAI, job_id: str) -> list[float]:
    return [event.data["train_loss"] for event in metrics_events(client, job_id)]


@pytest.mark.parametrize("model", MULTI_PROCESS)
def test_a_two_process_job_trains_like_a_one_process_job(client: openai.OpenAI, model: str):
    file_id = upload(client, "elle-limericks.jsonl")
    two, one = create(client, model, file_id, 2), create(client, TINY_MODEL, file_id, 2)
    for job_id in (two, one):
        job = wait_for_status(client, job_id, {"succeeded", "failed"}, timeout=240)
        assert job.status == "succeeded", job.error
    job = client.fine_tuning.jobs.retrieve(two)
    assert job.fine_tuned_model.startswith(f"ft:{model}:")
    assert [c.step_number for c in client.fine_tuning.jobs.checkpoints.list(two)] == [10, 5]
    assert [event.data["step"] for event in metrics_events(client, two)] == list(range(1, 11))
    assert losses(client, two) == pytest.approx(losses(client, one), abs=1e-4)
    assert job.trained_tokens == client.fine_tuning.jobs.retrieve(one).trained_tokens
    deadline = time.monotonic() + 60
    while descendants_running("training.rank"):  # they leave as the job runner closes them
        assert time.monotonic() < deadline, "the finished job's training processes are still running"
        time.sleep(0.1)


@pytest.mark.parametrize("model", MULTI_PROCESS)
def test_a_job_whose_processes_are_killed_resumes_from_its_last_state(client: openai.OpenAI, model: str):
    # 20 examples in batches of 2: 10 steps an epoch, a state saved at each epoch end.
    job_id = create(client, model, upload(client, "many.jsonl", many_examples(20)), 6)
    deadline = time.monotonic() + 240
    while len(metrics_events(client, job_id)) < 12:
        assert time.monotonic() < deadline, "the job made no progress"
        time.sleep(0.1)
    ranks = descendants_running("training.rank")
    assert len(ranks) == 2
    os.kill(ranks[0], signal.SIGKILL)

    job = wait_for_status(client, job_id, {"succeeded", "failed"}, timeout=300)
    assert job.status == "succeeded", job.error
    messages = [event.message for event in client.fine_tuning.jobs.list_events(job_id, limit=1000)]
    resumed = [m for m in messages if m.startswith("Training resumed from step ")]
    assert len(resumed) == 1 and resumed[0].split()[4] in {"10", "20", "30", "40", "50"}
    assert [event.data["step"] for event in metrics_events(client, job_id)] == list(range(1, 61))
