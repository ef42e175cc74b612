"""Fine-tuning jobs through the official SDK: create, validate, list, act, events, checkpoints."""

import time

import openai
import pytest

from tests.support.jobs import chat_lines, upload, wait_until_validated


@pytest.fixture
def training_file(client: openai.OpenAI) -> str:
    return upload(client, "elle-limericks.jsonl")


def test_create_echoes_every_field_then_validates_to_queued(client: openai.OpenAI, training_file: str):
    validation_file = upload(client, "marv-weighted.jsonl")
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini",
        training_file=training_file,
        validation_file=validation_file,
        suffix="elle",
        seed=42,
        method={"type": "supervised", "supervised": {"hyperparameters": {"batch_size": 2}}},
        integrations=[{"type": "wandb", "wandb": {"project": "limericks", "tags": ["a"]}}],
        metadata={"team": "chem"},
    )
    assert job.id.startswith("ftjob-") and len(job.id) == 30
    assert job.status == "validating_files"
    assert job.model == "gpt-4o-mini-2024-07-18"
    assert (job.training_file, job.validation_file, job.seed) == (training_file, validation_file, 42)
    assert job.hyperparameters.model_dump() == {
        "batch_size": 2,
        "learning_rate_multiplier": "auto",
        "n_epochs": "auto",
    }
    assert job.integrations[0].wandb.project == "limericks"
    assert job.metadata == {"team": "chem"}
    assert job.user_provided_suffix == "elle"
    assert (job.error, job.fine_tuned_model, job.finished_at, job.trained_tokens) == (None, None, None, None)
    assert job.result_files == []

    validated = wait_until_validated(client, job.id)
    assert validated.status == "queued"
    # 10 examples: the cookbook rule gives min(25, 100 // 10) = 10 epochs.
    resolved = {"batch_size": 2, "learning_rate_multiplier": 1.8, "n_epochs": 10}
    assert validated.hyperparameters.model_dump() == resolved
    assert validated.method.supervised.hyperparameters.model_dump() == resolved

    messages = [event.message for event in client.fine_tuning.jobs.list_events(job.id)]
    assert messages == [
        "Files validated, moving job to queued state",
        f"Validating training file: {training_file} and validation file: {validation_file}",
        f"Created fine-tuning job: {job.id}",
    ]


def test_legacy_hyperparameters_become_the_supervised_method(client: openai.OpenAI, training_file: str):
    job = client.fine_tuning.jobs.create(
        model="gpt-3.5-turbo", training_file=training_file, hyperparameters={"n_epochs": 2}
    )
    assert job.model == "gpt-3.5-turbo-0125"
    assert job.method.type == "supervised"
    assert job.method.supervised.hyperparameters.n_epochs == 2
    validated = wait_until_validated(client, job.id)
    assert validated.hyperparameters.model_dump() == {
        "batch_size": 1,
        "learning_rate_multiplier": 2.0,
        "n_epochs": 2,
    }


def test_dpo_job_on_a_chat_file_fails_like_openai(client: openai.OpenAI, training_file: str):
    job = client.fine_tuning.jobs.create(
        model="gpt-4.1-mini",
        training_file=training_file,
        method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2}}},
    )
    assert job.method.dpo.hyperparameters.beta == 0.2
    failed = wait_until_validated(client, job.id)
    assert failed.status == "failed"
    assert failed.error.code == "invalid_training_file"
    assert failed.error.param == "training_file"
    assert "is in the fine-tune-chat format" in failed.error.message


def test_dpo_job_on_a_preference_file_is_queued(client: openai.OpenAI):
    line = (
        '{"input": {"messages": [{"role": "user", "content": "Hi %d"}]}, '
        '"preferred_output": [{"role": "assistant", "content": "Hello!"}], '
        '"non_preferred_output": [{"role": "assistant", "content": "Go away."}]}\n'
    )
    file_id = upload(client, "prefs.jsonl", "".join(line % i for i in range(12)).encode())
    job = client.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=file_id, method={"type": "dpo"})
    validated = wait_until_validated(client, job.id)
    assert validated.status == "queued"
    assert validated.method.dpo.hyperparameters.beta == 0.1


def test_list_pages_newest_first_and_filters_by_metadata(client: openai.OpenAI, training_file: str):
    created = [
        client.fine_tuning.jobs.create(
            model="gpt-4o-mini", training_file=training_file, metadata={"i": str(i)}
        ).id
        for i in range(3)
    ]
    plain = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training_file).id
    everything = [plain, *created[::-1]]
    first = client.fine_tuning.jobs.list(limit=2)
    assert [job.id for job in first.data] == everything[:2] and first.has_more
    assert [job.id for job in client.fine_tuning.jobs.list(limit=2)] == everything
    assert [job.id for job in client.fine_tuning.jobs.list(metadata={"i": "1"})] == [created[1]]
    nulls = client.get("/fine_tuning/jobs", cast_to=object, options={"params": {"metadata": "null"}})
    assert [job["id"] for job in nulls["data"]] == [plain]


def test_cancel_pause_resume_follow_the_state_machine(client: openai.OpenAI, training_file: str):
    job = wait_until_validated(
        client, client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training_file).id
    )
    assert job.status == "queued"
    assert client.fine_tuning.jobs.pause(job.id).status == "paused"
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.pause(job.id)
    assert raised.value.code == "invalid_state"
    assert client.fine_tuning.jobs.resume(job.id).status == "queued"
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled" and cancelled.finished_at is not None
    for action in (
        client.fine_tuning.jobs.cancel,
        client.fine_tuning.jobs.pause,
        client.fine_tuning.jobs.resume,
    ):
        with pytest.raises(openai.BadRequestError):
            action(job.id)
    events = list(client.fine_tuning.jobs.list_events(job.id))
    assert [(e.level, e.message) for e in events[:3]] == [
        ("warn", "Fine tuning process stopping due to job cancellation"),
        ("info", "Fine-tuning job resumed"),
        ("info", "Fine-tuning job paused"),
    ]


def test_validation_never_revives_a_cancelled_job(client: openai.OpenAI, training_file: str):
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training_file)
    client.fine_tuning.jobs.cancel(job.id)
    time.sleep(1.5)  # validation and a reconciler pass (every second in tests) have had their go
    assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
    messages = [event.message for event in client.fine_tuning.jobs.list_events(job.id)]
    assert messages[0] == "Fine tuning process stopping due to job cancellation"
    assert messages.count("Files validated, moving job to queued state") <= 1


def test_events_page_with_after(client: openai.OpenAI, training_file: str):
    job = wait_until_validated(
        client, client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training_file).id
    )
    first = client.fine_tuning.jobs.list_events(job.id, limit=1)
    assert len(first.data) == 1 and first.has_more
    second = client.fine_tuning.jobs.list_events(job.id, limit=1, after=first.data[0].id)
    assert second.data[0].message.startswith("Validating training file")
    everything = list(client.fine_tuning.jobs.list_events(job.id, limit=1))
    assert len(everything) == 3 and len({e.id for e in everything}) == 3


def test_checkpoints_list_is_empty_before_training(client: openai.OpenAI, training_file: str):
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training_file)
    page = client.fine_tuning.jobs.checkpoints.list(job.id)
    assert page.data == [] and page.has_more is False


def test_seed_is_generated_when_omitted(client: openai.OpenAI, training_file: str):
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training_file)
    assert 0 <= job.seed < 2**31


def test_too_few_examples_fail_with_invalid_n_examples(client: openai.OpenAI):
    file_id = upload(client, "marv-sarcastic.jsonl")
    failed = wait_until_validated(
        client, client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id).id
    )
    assert failed.status == "failed"
    assert failed.error.model_dump() == {
        "code": "invalid_n_examples",
        "message": "Training file has 3 example(s), but must have at least 10 examples",
        "param": "training_file",
    }
    newest = client.fine_tuning.jobs.list_events(failed.id, limit=1).data[0]
    assert newest.level == "error"
    assert newest.message == failed.error.message
    assert newest.data == {"error_code": "invalid_n_examples", "error_param": "training_file"}


def test_a_fine_tuned_model_name_can_be_a_base_only_when_it_exists(client: openai.OpenAI, training_file: str):
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(
            model="ft:gpt-4o-mini-2024-07-18:x::abcdefgh", training_file=training_file
        )
    assert (raised.value.code, raised.value.param) == ("model_not_available", "model")


def test_cl100k_models_count_tokens_with_their_own_encoding(client: openai.OpenAI):
    file_id = upload(client, "many.jsonl", chat_lines(12))
    job = client.fine_tuning.jobs.create(model="gpt-3.5-turbo", training_file=file_id)
    assert wait_until_validated(client, job.id).status == "queued"


def test_cancel_racing_validation_always_succeeds(client: openai.OpenAI, training_file: str):
    for _ in range(20):
        job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training_file)
        assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
