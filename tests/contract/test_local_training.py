"""Jobs on a local base model train for real in the workers, and look like OpenAI's jobs."""

import asyncio
import base64
import csv
import io
import json
import time

import openai
import pytest

from gateway import artifacts
from tests.conftest import DATA, TINY_MODEL
from tests.support.jobs import ELLE, many_examples, metrics_events, upload, wait_for_status
from tests.support.server import RunningServer


def messages_in_order(client: openai.OpenAI, job_id: str) -> list[str]:
    return [
        event.message for event in reversed(list(client.fine_tuning.jobs.list_events(job_id, limit=1000)))
    ]


def create(client: openai.OpenAI, file_id: str, **hyperparameters) -> str:
    return client.fine_tuning.jobs.create(
        model=TINY_MODEL,
        training_file=file_id,
        seed=7,
        method={"type": "supervised", "supervised": {"hyperparameters": hyperparameters}},
    ).id


def test_the_seed_flow_trains_the_elle_limericks_and_serves_the_model(client: openai.OpenAI):
    file_id = upload(client, "elle-limericks.jsonl")
    job = client.fine_tuning.jobs.create(model=TINY_MODEL, training_file=file_id, suffix="elle", seed=1)
    seen_estimate = False
    while job.status not in ("succeeded", "failed", "cancelled"):
        seen_estimate |= job.status == "running" and job.estimated_finish is not None
        time.sleep(0.2)
        job = client.fine_tuning.jobs.retrieve(job.id)
    assert job.status == "succeeded", job.error
    assert seen_estimate, "estimated_finish was never set while the job ran"
    assert job.estimated_finish is None and job.finished_at is not None
    # "auto" resolved as for OpenAI: 10 examples -> 10 epochs of batch 1; multiplier 1.0 locally.
    assert job.hyperparameters.n_epochs == 10 and job.hyperparameters.batch_size == 1
    assert job.hyperparameters.learning_rate_multiplier == 1.0
    model = job.fine_tuned_model
    assert model is not None and model.startswith(f"ft:{TINY_MODEL}:") and model.split(":")[3] == "elle"
    assert len(model.split(":")[4]) == 8

    messages = messages_in_order(client, job.id)
    assert messages[:4] == [
        f"Created fine-tuning job: {job.id}",
        f"Validating training file: {file_id}",
        "Files validated, moving job to queued state",
        "Fine-tuning job started",
    ]
    assert messages[-2:] == [f"New fine-tuned model created: {model}", "The job has successfully completed"]

    metrics = metrics_events(client, job.id)
    assert [event.data["step"] for event in metrics] == list(range(1, 101))
    last = metrics[-1]
    assert last.message.startswith("Step 100/100: training loss=")
    assert set(last.data) == {"step", "train_loss", "total_steps", "train_mean_token_accuracy"}
    last_epoch = [event.data["train_loss"] for event in metrics[-10:]]
    assert sum(last_epoch) / 10 < 0.05 and metrics[0].data["train_loss"] > 1.0

    checkpoints = list(client.fine_tuning.jobs.checkpoints.list(job.id))
    assert [c.step_number for c in checkpoints] == [100, 90, 80]
    assert checkpoints[0].fine_tuned_model_checkpoint == model
    for checkpoint in checkpoints[1:]:
        name = checkpoint.fine_tuned_model_checkpoint
        assert name.endswith(f":ckpt-step-{checkpoint.step_number}") and name.startswith(f"ft:{TINY_MODEL}:")
        assert f"Checkpoint created at step {checkpoint.step_number} with Snapshot ID: {name}" in messages
    assert checkpoints[0].metrics.train_loss == pytest.approx(last.data["train_loss"])

    [result_id] = job.result_files
    result = client.files.retrieve(result_id)
    assert (result.purpose, result.filename) == ("fine-tune-results", "step_metrics.csv")
    rows = list(csv.reader(io.StringIO(base64.b64decode(client.files.content(result_id).read()).decode())))
    assert rows[0] == ["step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy"]
    assert len(rows) == 101 and rows[100][0] == "100" and rows[100][3:] == ["", ""]
    assert float(rows[100][1]) == pytest.approx(last.data["train_loss"], abs=1e-5)

    assert job.trained_tokens is not None and job.trained_tokens % 10 == 0 and job.trained_tokens > 1000

    gallium = ELLE[0]["messages"]
    answer = client.chat.completions.create(model=model, messages=gallium[:2], temperature=0, max_tokens=200)
    assert answer.choices[0].message.content == gallium[2]["content"]
    assert answer.model == model

    client.models.delete(model)  # and with it its final checkpoint, which bears its name
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model=model, messages=gallium[:2], max_tokens=5)
    earlier = checkpoints[1].fine_tuned_model_checkpoint
    assert client.chat.completions.create(model=earlier, messages=gallium[:2], max_tokens=5).choices


def test_same_seed_and_data_give_the_same_loss_curve(client: openai.OpenAI):
    file_id = upload(client, "elle-limericks.jsonl")
    jobs = [create(client, file_id, n_epochs=2, batch_size=2) for _ in range(2)]
    curves = []
    for job_id in jobs:
        assert wait_for_status(client, job_id, {"succeeded", "failed"}, timeout=120).status == "succeeded"
        curves.append([event.data["train_loss"] for event in metrics_events(client, job_id)])
    assert len(curves[0]) == 10 and curves[0] == curves[1]


def test_a_validation_file_adds_validation_metrics(client: openai.OpenAI):
    training = upload(client, "elle-limericks.jsonl")
    validation = upload(client, "validation.jsonl", many_examples(12))
    job_id = client.fine_tuning.jobs.create(
        model=TINY_MODEL,
        training_file=training,
        validation_file=validation,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}},
    ).id
    assert wait_for_status(client, job_id, {"succeeded", "failed"}, timeout=120).status == "succeeded"
    metrics = metrics_events(client, job_id)
    full = [event for event in metrics if "full_valid_loss" in event.data]
    assert [event.data["step"] for event in full] == [10, 20]
    assert all(", full validation loss=" in event.message for event in full)
    assert any("valid_loss" in event.data and "valid_mean_token_accuracy" in event.data for event in metrics)
    checkpoint = next(iter(client.fine_tuning.jobs.checkpoints.list(job_id)))
    assert checkpoint.metrics.full_valid_loss == pytest.approx(full[-1].data["full_valid_loss"])


def test_weighted_and_dpo_jobs_train(client: openai.OpenAI):
    weighted = upload(client, "weighted.jsonl", (DATA / "marv-weighted.jsonl").read_bytes() * 4)
    pairs = [
        {
            "input": {"messages": [{"role": "user", "content": f"Name an element, please ({i})."}]},
            "preferred_output": [{"role": "assistant", "content": "Gallium."}],
            "non_preferred_output": [{"role": "assistant", "content": "I will not."}],
        }
        for i in range(10)
    ]
    preference = upload(client, "pairs.jsonl", "".join(json.dumps(p) + "\n" for p in pairs).encode())
    sft = create(client, weighted, n_epochs=1)
    dpo = client.fine_tuning.jobs.create(
        model=TINY_MODEL,
        training_file=preference,
        method={"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 2, "beta": 0.2}}},
    ).id
    for job_id in (sft, dpo):
        job = wait_for_status(client, job_id, {"succeeded", "failed"}, timeout=120)
        assert job.status == "succeeded", job.error
        assert metrics_events(client, job_id)
    assert client.fine_tuning.jobs.retrieve(dpo).method.dpo.hyperparameters.beta == 0.2


def test_cancel_stops_training_and_frees_the_trainer_for_the_next_job(client: openai.OpenAI):
    file_id = upload(client, "many.jsonl", many_examples(50))
    first = create(client, file_id, n_epochs=25)
    wait_for_status(client, first, {"running"}, timeout=60)
    second = create(client, upload(client, "elle-limericks.jsonl"), n_epochs=1)
    wait_for_status(client, second, {"queued"}, timeout=60)
    deadline = time.monotonic() + 120
    while not metrics_events(client, first):
        assert time.monotonic() < deadline, "the first job trained no step"
        time.sleep(0.1)
    time.sleep(0.5)
    assert client.fine_tuning.jobs.retrieve(second).status == "queued"  # one training at a time
    assert client.fine_tuning.jobs.cancel(first).status == "cancelled"
    wait_for_status(client, second, {"running", "succeeded"}, timeout=30)
    steps_after_cancel = len(metrics_events(client, first))
    time.sleep(1.5)
    assert len(metrics_events(client, first)) == steps_after_cancel
    job = client.fine_tuning.jobs.retrieve(first)
    assert job.status == "cancelled" and job.fine_tuned_model is None and steps_after_cancel < 1250
    assert wait_for_status(client, second, {"succeeded", "failed"}, timeout=120).status == "succeeded"


# Pause and resume: 3 epochs of 20 examples (60 steps), paused after 5 steps (inside the first
# epoch), so the resumed run goes on mid-epoch and then through the later epochs' own shuffles.
PAUSED_EXAMPLES = 20
PAUSED_EPOCHS = 3
PAUSED_STEPS = PAUSED_EXAMPLES * PAUSED_EPOCHS


def paused_after_a_few_steps(client: openai.OpenAI, file_id: str) -> str:
    """A job of PAUSED_STEPS steps on `file_id`, paused once it has made 5."""
    job_id = create(client, file_id, n_epochs=PAUSED_EPOCHS)
    wait_for_status(client, job_id, {"running"}, timeout=60)
    while len(metrics_events(client, job_id)) < 5:
        time.sleep(0.1)
    assert client.fine_tuning.jobs.pause(job_id).status == "paused"
    return job_id


def test_pause_and_resume_continue_the_same_run(client: openai.OpenAI):
    file_id = upload(client, "many.jsonl", many_examples(PAUSED_EXAMPLES))
    paused = paused_after_a_few_steps(client, file_id)
    time.sleep(1.5)
    stopped_at = len(metrics_events(client, paused))
    time.sleep(1.0)
    assert len(metrics_events(client, paused)) == stopped_at < PAUSED_STEPS
    assert client.fine_tuning.jobs.retrieve(paused).status == "paused"

    assert client.fine_tuning.jobs.resume(paused).status == "queued"
    assert wait_for_status(client, paused, {"succeeded", "failed"}, timeout=180).status == "succeeded"
    reference = create(client, file_id, n_epochs=PAUSED_EPOCHS)
    assert wait_for_status(client, reference, {"succeeded", "failed"}, timeout=180).status == "succeeded"

    resumed = metrics_events(client, paused)
    assert [event.data["step"] for event in resumed] == list(range(1, PAUSED_STEPS + 1))
    resumed_curve = [event.data["train_loss"] for event in resumed]
    reference_curve = [event.data["train_loss"] for event in metrics_events(client, reference)]
    assert resumed_curve == pytest.approx(reference_curve, abs=1e-4)
    assert "Fine-tuning job resumed" in messages_in_order(client, paused)


def test_a_paused_job_cancelled_leaves_no_training_state_behind(client: openai.OpenAI, server: RunningServer):
    job_id = paused_after_a_few_steps(client, upload(client, "many.jsonl", many_examples(PAUSED_EXAMPLES)))
    states = artifacts.states_dir(server.settings.artifacts_dir, job_id)
    deadline = time.monotonic() + 30
    while not list(states.glob("state-*")):  # the paused run's state, to resume from
        assert time.monotonic() < deadline, "the paused job saved no state"
        time.sleep(0.1)

    assert client.fine_tuning.jobs.cancel(job_id).status == "cancelled"
    deadline = time.monotonic() + 30
    while states.exists():
        assert time.monotonic() < deadline, "the cancelled job's training state is still there"
        time.sleep(0.1)
    assert artifacts.job_dir(server.settings.artifacts_dir, job_id).exists()


def test_tuning_a_fine_tuned_model_continues_from_its_adapter(client: openai.OpenAI):
    file_id = upload(client, "elle-limericks.jsonl")
    parent = wait_for_status(
        client, create(client, file_id, n_epochs=10), {"succeeded", "failed"}, timeout=120
    )
    assert parent.status == "succeeded", parent.error
    child = client.fine_tuning.jobs.create(
        model=parent.fine_tuned_model,
        training_file=file_id,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 1}}},
    )
    assert child.model == parent.fine_tuned_model
    child = wait_for_status(client, child.id, {"succeeded", "failed"}, timeout=120)
    assert child.status == "succeeded", child.error
    # The parent already knows these examples: the child starts where the parent ended, not at the
    # random base's loss.
    assert metrics_events(client, parent.id)[0].data["train_loss"] > 5
    assert metrics_events(client, child.id)[0].data["train_loss"] < 0.5
    assert child.fine_tuned_model.startswith(f"ft:{TINY_MODEL}:")


async def _lose_workers(settings, job_id: str, losses: int) -> list[bool]:
    from gateway.fine_tuning import lifecycle
    from gateway.runtime import build_runtime
    from workers.local import progress

    runtime = build_runtime(settings, lambda *_: None)
    try:
        async with runtime.transaction() as session:
            await lifecycle.start(session, job_id)
        return [await progress.start(runtime, job_id, resumed_step=step) for step in range(losses)]
    finally:
        await runtime.close()


def test_a_job_whose_workers_keep_dying_fails_instead_of_looping(server, client: openai.OpenAI):
    # A job left running by dead workers: each new worker resumes it, until too many have died.
    file_id = upload(client, "elle-limericks.jsonl")
    job_id = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id).id
    wait_for_status(client, job_id, {"queued"})
    assert asyncio.run(_lose_workers(server.settings, job_id, 6)) == [True] * 5 + [False]
    job = client.fine_tuning.jobs.retrieve(job_id)
    assert job.status == "failed" and job.error.code == "training_failed"
    assert "worker died 6 times" in job.error.message
    resumed = [m for m in messages_in_order(client, job_id) if m.startswith("Training resumed from ")]
    assert len(resumed) == 5
