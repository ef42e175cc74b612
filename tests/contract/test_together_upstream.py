"""Jobs on a model that Together AI serves, driven with the official SDK exactly as for OpenAI:
Together's files, jobs, events, metrics and checkpoints mapped to OpenAI's shapes, what Together
cannot do refused before anything is sent, and one Together job per ftgate job through lost
answers."""

import logging
import time

import openai
import pytest

from tests.support.fake_together import FakeTogether
from tests.support.jobs import upload, wait_for_status
from tests.support.together import TOGETHER_KEY, TOGETHER_LLAMA, scripted_together, together_server
from tests.support.upstream import (
    GALLIUM,
    LLAMA,
    assert_never_shown,
    assert_refused_before_sending,
    assert_tuned_chat_reaches,
    chronological_events,
    create_job,
    made_since,
    supervised,
    upstream_fixtures,
)

FINISHED = {"succeeded", "failed", "cancelled"}
CREATES = r"^/v1/fine-tunes$"
RESTARTED = "Job restarted after a node failure"


fake, server, tidy_fake, jobs_before = upstream_fixtures("together", scripted_together, together_server)


def create(client: openai.OpenAI, n_epochs: int = 2, **extra: object):
    return create_job(client, n_epochs, LLAMA, **extra)


def test_a_job_runs_on_together_and_its_life_is_mirrored_in_openais_shapes(
    client: openai.OpenAI, fake: FakeTogether, jobs_before: int
):
    job = create(client, n_epochs=2, suffix="elle", seed=42)
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "succeeded", done.error
    [together] = made_since(fake, jobs_before)
    assert together["status"] == "completed"
    assert done.fine_tuned_model == together["model_output_name"]
    assert done.trained_tokens == together["token_count"] * 2
    assert done.finished_at is not None and abs(done.finished_at - time.time()) < 60

    events = chronological_events(client, job.id)
    messages = [event.message for event in events]
    assert messages[:3] == [
        f"Created fine-tuning job: {job.id}",
        f"Validating training file: {job.training_file}",
        "Files validated, moving job to queued state",
    ]
    assert messages.count("Fine-tuning job started") == 1
    assert "Checkpoint created at step 10" in messages and "Checkpoint created at step 20" in messages
    steps = [event.data for event in events if event.type == "metrics"]
    assert [data["step"] for data in steps] == list(range(1, 21))
    assert all(data["total_steps"] == 20 and data["train_loss"] > 0 for data in steps)
    assert messages.index("Fine-tuning job started") < messages.index("Step 1/20: training loss=2.00")
    assert messages[-2:] == [
        f"New fine-tuned model created: {done.fine_tuned_model}",
        "The job has successfully completed",
    ]
    assert [event.level for event in events].count("error") == 0

    checkpoints = list(client.fine_tuning.jobs.checkpoints.list(job.id))
    assert [(c.step_number, c.fine_tuned_model_checkpoint) for c in checkpoints] == [
        (20, f"{done.fine_tuned_model}:20"),
        (10, f"{done.fine_tuned_model}:10"),
    ]
    assert checkpoints[0].metrics.train_loss == together["metrics"][19]["train_loss"]


def test_the_together_job_carries_the_mapped_hyperparameters_and_files(
    client: openai.OpenAI, fake: FakeTogether, jobs_before: int
):
    uploads_before = fake.requests_to("POST", r"^/v1/files/upload$")
    file_id = upload(client, "elle-limericks.jsonl")
    method = {
        "type": "supervised",
        "supervised": {"hyperparameters": {"n_epochs": 1, "batch_size": 2, "learning_rate_multiplier": 3}},
    }
    job = client.fine_tuning.jobs.create(
        model=LLAMA, training_file=file_id, method=method, suffix="mapped", seed=7
    )
    assert wait_for_status(client, job.id, FINISHED).status == "succeeded"
    [together] = made_since(fake, jobs_before)
    body = together["request"]
    assert body == {
        "model": TOGETHER_LLAMA,
        "training_file": together["training_file"],
        "training_type": {"type": "Lora"},
        "training_method": {"method": "sft"},
        "batch_size": 2,
        "n_epochs": 1,
        "learning_rate": pytest.approx(3e-5),
        "suffix": "mapped",
        "random_seed": 7,
    }
    assert fake.file_content(together["training_file"]) == client.files.content(file_id).read()
    assert fake.requests_to("POST", r"^/v1/files/upload$") - uploads_before == 1


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"suffix": "s" * 41}, "suffix"),
        ({"integrations": [{"type": "wandb", "wandb": {"project": "p"}}]}, "integrations"),
        ({"method": {"type": "reinforcement", "reinforcement": {"grader": {}}}}, "method.type"),
    ],
)
def test_what_together_cannot_do_is_refused_naming_the_field_and_nothing_is_sent(
    client: openai.OpenAI, fake: FakeTogether, extra: dict, param: str
):
    assert_refused_before_sending(client, fake, LLAMA, extra, param)


def test_a_forty_character_suffix_is_taken(client: openai.OpenAI, fake: FakeTogether, jobs_before: int):
    job = create(client, n_epochs=1, suffix="s" * 40)
    assert wait_for_status(client, job.id, FINISHED).status == "succeeded"
    [together] = made_since(fake, jobs_before)
    assert together["request"]["suffix"] == "s" * 40


def test_cancel_reaches_together_and_pause_and_resume_are_refused(
    client: openai.OpenAI, fake: FakeTogether, jobs_before: int
):
    fake.script_next_job(step_seconds=0.3)
    job = create(client, n_epochs=3)
    wait_for_status(client, job.id, {"running"})
    for action in (client.fine_tuning.jobs.pause, client.fine_tuning.jobs.resume):
        with pytest.raises(openai.BadRequestError) as refused:
            action(job.id)
        assert refused.value.param == "fine_tuning_job_id"
        assert "cannot" in refused.value.message
    assert client.fine_tuning.jobs.retrieve(job.id).status == "running"

    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    [together] = made_since(fake, jobs_before)
    deadline = time.monotonic() + 20
    while fake.job(together["id"])["status"] != "cancelled":
        assert time.monotonic() < deadline, fake.job(together["id"])["status"]
        time.sleep(0.05)
    time.sleep(0.6)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
    events = chronological_events(client, job.id)
    messages = [event.message for event in events]
    assert messages.count("Fine tuning process stopping due to job cancellation") == 1
    assert [e.message for e in events if e.level == "warn"] == [
        "Fine tuning process stopping due to job cancellation"
    ]
    assert fake.requests_to("POST", rf"/{together['id']}/cancel$") == 1


def test_a_file_together_lost_is_uploaded_again_once_and_the_job_sent_once(
    client: openai.OpenAI, fake: FakeTogether, jobs_before: int
):
    file_id = upload(client, "elle-limericks.jsonl")
    first = client.fine_tuning.jobs.create(model=LLAMA, training_file=file_id, method=supervised(1))
    assert wait_for_status(client, first.id, FINISHED).status == "succeeded"
    fake.forget_files()
    uploads_before = fake.files_uploaded
    again = client.fine_tuning.jobs.create(model=LLAMA, training_file=file_id, method=supervised(1))
    done = wait_for_status(client, again.id, FINISHED)
    assert done.status == "succeeded", done.error
    assert fake.files_uploaded - uploads_before == 1
    made = made_since(fake, jobs_before)
    assert len(made) == 2 and made[0]["training_file"] != made[1]["training_file"]


def test_a_job_together_restarts_stays_running_at_ftgate(
    client: openai.OpenAI, fake: FakeTogether, jobs_before: int
):
    fake.script_next_job(restarts=True, step_seconds=0.1)
    job = create(client, n_epochs=1)
    wait_for_status(client, job.id, {"running"})
    [together] = made_since(fake, jobs_before)
    fake.restart(together["id"])
    deadline = time.monotonic() + 60
    seen = set()
    while RESTARTED not in [event.message for event in chronological_events(client, job.id)]:
        assert time.monotonic() < deadline, "ftgate never mirrored the restart"
        seen.add(client.fine_tuning.jobs.retrieve(job.id).status)
        time.sleep(0.1)
    seen.add(client.fine_tuning.jobs.retrieve(job.id).status)
    assert seen == {"running"}
    fake.end_restart(together["id"])
    assert wait_for_status(client, job.id, FINISHED).status == "succeeded"


def test_a_create_whose_answer_was_lost_is_found_not_sent_again(
    client: openai.OpenAI, fake: FakeTogether, jobs_before: int
):
    creates_before = fake.requests_to("POST", CREATES)
    fake.add_fault("POST", CREATES, "drop_after", times=1)
    job = create(client, n_epochs=1)
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "succeeded", done.error
    [together] = made_since(fake, jobs_before)
    assert done.fine_tuned_model == together["model_output_name"]
    assert fake.requests_to("POST", CREATES) - creates_before == 1
    assert fake.requests_to("GET", CREATES) >= 1


def test_lost_creates_of_alike_jobs_each_find_their_own_together_job(
    client: openai.OpenAI, fake: FakeTogether, jobs_before: int
):
    """Two jobs on one file, sent alike, both answers lost: each takes one Together job."""
    file_id = upload(client, "elle-limericks.jsonl")
    fake.add_fault("POST", CREATES, "drop_after", times=2)
    jobs = [
        client.fine_tuning.jobs.create(model=LLAMA, training_file=file_id, method=supervised(1))
        for _ in range(2)
    ]
    done = [wait_for_status(client, job.id, FINISHED) for job in jobs]
    assert [job.status for job in done] == ["succeeded", "succeeded"]
    made = made_since(fake, jobs_before)
    assert len(made) == 2
    assert sorted(job.fine_tuned_model for job in done) == sorted(job["model_output_name"] for job in made)


def test_together_faults_delay_a_job_but_lose_and_repeat_nothing(
    client: openai.OpenAI, fake: FakeTogether, jobs_before: int
):
    fake.add_fault("POST", CREATES, "status", status=429, retry_after=0.2, times=2)
    fake.add_fault("POST", r"/files/upload$", "status", status=503, times=1)
    fake.add_fault("GET", r"/events$", "status", status=500, times=4)
    fake.add_fault("GET", r"/fine-tunes/[^/]+$", "status", status=502, times=3)
    job = create(client, n_epochs=1)
    done = wait_for_status(client, job.id, FINISHED, timeout=60)
    assert done.status == "succeeded", done.error
    assert len(made_since(fake, jobs_before)) == 1
    messages = [event.message for event in chronological_events(client, job.id)]
    assert len(messages) == len(set(messages)), "an event was recorded twice"


def test_steps_come_from_progress_events_where_together_has_no_metrics(
    client: openai.OpenAI, fake: FakeTogether
):
    fake.add_fault("GET", r"/metrics$", "status", status=404, times=10_000)
    job = create(client, n_epochs=1)
    assert wait_for_status(client, job.id, FINISHED).status == "succeeded"
    steps = [event.data for event in chronological_events(client, job.id) if event.type == "metrics"]
    assert steps == [{"step": step, "total_steps": 10} for step in range(1, 11)]


def test_a_together_error_fails_the_job_with_its_words(client: openai.OpenAI, fake: FakeTogether):
    fake.script_next_job(error="Training failed: the dataset has a malformed example on line 4")
    job = create(client, n_epochs=1)
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "failed"
    assert done.error.message == "Training failed: the dataset has a malformed example on line 4"
    assert done.fine_tuned_model is None
    errors = [event for event in chronological_events(client, job.id) if event.level == "error"]
    assert [event.message for event in errors] == [done.error.message]


def test_chat_with_the_fine_tuned_model_reaches_together_under_its_output_name(
    client: openai.OpenAI, fake: FakeTogether, make_client
):
    job = create(client, n_epochs=1, suffix="chat")
    model = wait_for_status(client, job.id, FINISHED).fine_tuned_model
    assert model is not None
    assert_tuned_chat_reaches(client, make_client(), fake, model)
    base = client.chat.completions.create(model=LLAMA, messages=GALLIUM)
    assert base.choices[0].message.content == f"[{TOGETHER_LLAMA}] Tell me about Gallium"


def test_the_together_key_never_shows(
    client: openai.OpenAI, fake: FakeTogether, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    fake.add_fault("GET", r"/events$", "status", status=401, times=2)
    job = create(client, n_epochs=1)
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "succeeded"
    assert_never_shown(client, job.id, caplog.text, TOGETHER_KEY)


def test_without_upstream_estimates_no_price_is_asked_of_together(client: openai.OpenAI, fake: FakeTogether):
    job = create(client, n_epochs=1)
    assert wait_for_status(client, job.id, FINISHED).status == "succeeded"
    assert fake.requests_to("POST", r"/fine-tunes/estimate-price$") == 0
