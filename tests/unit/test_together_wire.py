"""Together's shapes mapped to OpenAI's and back (gateway/providers/together_wire.py)."""

import pytest

from gateway.providers import together_wire as wire
from gateway.providers.base import UpstreamError


def request(method: dict, **extra: object) -> dict:
    return {"model": "meta-llama/Llama", "training_file": "file-1", "method": method, "seed": 3, **extra}


def test_dpo_maps_to_togethers_training_method_with_its_beta():
    method = {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2, "n_epochs": 2, "batch_size": 4}}}
    body = wire.create_body(request(method, validation_file="file-2"))
    assert body == {
        "model": "meta-llama/Llama",
        "training_file": "file-1",
        "validation_file": "file-2",
        "training_type": {"type": "Lora"},
        "training_method": {"method": "dpo", "dpo_beta": 0.2},
        "batch_size": 4,
        "n_epochs": 2,
        "random_seed": 3,
    }


def test_auto_hyperparameters_are_left_to_together():
    method = {
        "type": "supervised",
        "supervised": {"hyperparameters": {"n_epochs": "auto", "batch_size": "auto"}},
    }
    body = wire.create_body(request(method))
    assert body["batch_size"] == "max"
    assert "n_epochs" not in body and "learning_rate" not in body


def test_the_learning_rate_is_togethers_default_times_the_multiplier():
    method = {"type": "supervised", "supervised": {"hyperparameters": {"learning_rate_multiplier": 0.5}}}
    assert wire.create_body(request(method))["learning_rate"] == pytest.approx(5e-6)


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"method": {"type": "reinforcement"}}, "method.type"),
        ({"suffix": "x" * 41}, "suffix"),
        ({"integrations": [{"type": "wandb", "wandb": {"project": "p"}}]}, "integrations"),
    ],
)
def test_what_together_cannot_do_names_its_field(extra: dict, param: str):
    refused = wire.unsupported({"model": "m", "method": {"type": "supervised"}} | extra)
    assert refused is not None and refused.param == param


def test_a_forty_character_suffix_is_fine():
    assert wire.unsupported({"method": {"type": "supervised"}, "suffix": "x" * 40}) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2026-12-04T08:00:00-08:00", 1796400000),
        ("2026-12-04T16:00:00Z", 1796400000),
        ("2026-12-04T16:00:00.999+00:00", 1796400000),
        ("2026-12-04T16:00:00", 1796400000),  # no offset: UTC, never local time
        (1796400000, 1796400000),
    ],
)
def test_times_become_unix_seconds(value: object, seconds: int):
    assert wire.unix(value) == seconds


@pytest.mark.parametrize(
    ("status", "mapped"),
    [
        ("pending", "queued"),
        ("queued", "queued"),
        ("running", "running"),
        ("compressing", "running"),
        ("uploading", "running"),
        ("cancel_requested", "running"),
        ("cancelled", "cancelled"),
        ("error", "failed"),
        ("completed", "succeeded"),
    ],
)
def test_statuses_map_to_openais(status: str, mapped: str):
    item = {"id": "ft-1", "status": status, "updated_at": "2026-12-04T16:00:00Z", "model_output_name": "a/m"}
    job = wire.job(item)
    assert job.status == mapped
    assert (job.fine_tuned_model == "a/m") == (mapped == "succeeded")
    assert (job.finished_at == 1796400000) == (mapped in {"succeeded", "failed", "cancelled"})


def test_a_failed_job_carries_togethers_words():
    item = {
        "id": "ft-1",
        "status": "error",
        "events": [{"type": "job_error", "level": "error", "message": "Out of memory at step 2"}],
    }
    assert wire.job(item).error == {
        "code": "upstream_error",
        "message": "Out of memory at step 2",
        "param": None,
    }


def event(kind: str, message: str, at: str, **extra: object) -> dict:
    return {"type": kind, "message": message, "created_at": at, "level": "info"} | extra


EVENTS = [
    event("job_start", "Job started at …", "2026-12-04T08:00:00-08:00"),
    event("training_progress", "Step 1/2", "2026-12-04T08:00:01-08:00", step=1, total_steps=2),
    event("warning", "Slow disk", "2026-12-04T08:00:01-08:00", level="warning"),
    event("warning", "Slow disk", "2026-12-04T08:00:01-08:00", level="warning"),
    event("checkpoint_save", "Saved", "2026-12-04T08:00:02-08:00", step=2),
    event("job_error", "Out of memory", "2026-12-04T08:00:03-08:00", level="error"),
]


def test_events_get_stable_ids_and_openais_texts_newest_first():
    first = wire.events(EVENTS, None, None)
    assert [e.id for e in first] == [e.id for e in wire.events(EVENTS, None, None)]
    assert len({e.id for e in first}) == len(first) == 6
    assert [(e.level, e.message, e.type) for e in first[::-1]] == [
        ("info", "Fine-tuning job started", "message"),
        ("info", "Step 1/2", "metrics"),
        ("warn", "Slow disk", "message"),
        ("warn", "Slow disk", "message"),
        ("info", "Checkpoint created at step 2", "message"),
        ("error", "Out of memory", "message"),
    ]
    assert first[-1].created_at == 1796400000


def test_steps_come_from_metrics_when_together_logs_them():
    metrics = [{"global_step": 1, "train_loss": 1.5, "logged_at": "2026-12-04T08:00:01-08:00"}]
    found = wire.events(EVENTS, metrics, None)
    [step] = [e for e in found if e.type == "metrics"]
    assert (step.message, step.data) == (
        "Step 1/2: training loss=1.50",
        {"step": 1, "total_steps": 2, "train_loss": 1.5},
    )


def test_completion_names_the_model_before_it_says_the_job_is_done():
    done = [event("job_complete", "Job finished", "2026-12-04T08:00:09-08:00")]
    newest_first = wire.events(done, [], "acct/model-x")
    assert [e.message for e in newest_first] == [
        "The job has successfully completed",
        "New fine-tuned model created: acct/model-x",
    ]


def test_a_create_is_recognised_by_what_was_sent_and_when():
    hyperparameters = {"n_epochs": 2, "learning_rate_multiplier": 2}
    body = wire.create_body(
        request({"type": "supervised", "supervised": {"hyperparameters": hyperparameters}}, suffix="elle")
    )
    listed = {
        "training_file": "file-1",
        "validation_file": "",
        "model": "meta-llama/Llama",
        "model_output_name": "acct/Llama-elle-4ce39a",
        "n_epochs": 2,
        "batch_size": 8,
        "learning_rate": 2e-5,
        "training_method": {"method": "sft"},
        "created_at": "2026-12-04T08:00:00-08:00",
    }
    assert wire.is_same_create(listed, body, 1796400000 - 60)
    assert not wire.is_same_create(listed, body, 1796400000 + 60)
    assert not wire.is_same_create(listed | {"n_epochs": 3}, body, 0)
    assert not wire.is_same_create(listed | {"training_file": "file-9"}, body, 0)
    assert not wire.is_same_create(listed | {"learning_rate": 3e-5}, body, 0)
    assert not wire.is_same_create(listed | {"model_output_name": "acct/Llama-other-4ce39a"}, body, 0)


def test_events_and_steps_of_one_second_interleave_by_their_exact_time():
    items = [
        event("training_progress", "p1", "2026-12-04T08:00:00.100-08:00", step=1, total_steps=2),
        event("checkpoint_save", "Saved", "2026-12-04T08:00:00.300-08:00", step=1),
        event("training_progress", "p2", "2026-12-04T08:00:00.500-08:00", step=2, total_steps=2),
    ]
    metrics = [
        {"global_step": 1, "train_loss": 1.0, "logged_at": "2026-12-04T08:00:00.100-08:00"},
        {"global_step": 2, "train_loss": 0.5, "logged_at": "2026-12-04T08:00:00.500-08:00"},
    ]
    newest_first = [e.message for e in wire.events(items, metrics, None)]
    assert newest_first == [
        "Step 2/2: training loss=0.50",
        "Checkpoint created at step 1",
        "Step 1/2: training loss=1.00",
    ]


def test_a_create_that_left_the_epochs_to_together_matches_whatever_it_chose():
    body = wire.create_body(request({"type": "supervised"}))
    listed = {"training_file": "file-1", "model": "meta-llama/Llama", "n_epochs": 1, "created_at": 1796400000}
    assert wire.is_same_create(listed, body, 1796400000)


def test_the_price_estimate_asks_for_the_job_the_create_would_make():
    method = {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2, "n_epochs": 3, "batch_size": 4}}}
    body = wire.estimate_body(request(method, validation_file="file-2", suffix="s"))
    assert body == {
        "training_file": "file-1",
        "validation_file": "file-2",
        "model": "meta-llama/Llama",
        "n_epochs": 3,
        "n_evals": 0,
        "training_method": {"method": "dpo", "dpo_beta": 0.2},
        "training_type": {"type": "Lora"},
    }


def test_epochs_left_to_together_are_estimated_at_its_default_of_one():
    body = wire.estimate_body(request({"type": "supervised"}))
    assert body["n_epochs"] == 1 and "validation_file" not in body


@pytest.mark.parametrize(
    ("answer", "micros"),
    [
        (
            {"estimation_available": True, "estimated_total_price": 12.345678, "allowed_to_proceed": True},
            12_345_678,
        ),
        ({"estimation_available": True, "estimated_total_price": 0.1, "allowed_to_proceed": True}, 100_000),
        ({"estimation_available": False, "estimated_total_price": 0, "allowed_to_proceed": True}, None),
        ({"estimation_available": True, "estimated_total_price": None}, None),
    ],
)
def test_the_estimate_is_exact_in_micro_dollars_where_together_has_one(answer: dict, micros: int | None):
    assert wire.estimated_cost(answer) == micros


def test_an_estimate_not_allowed_to_proceed_refuses_the_job_saying_why():
    answer = {"estimation_available": True, "estimated_total_price": 42.5, "allowed_to_proceed": False}
    with pytest.raises(UpstreamError) as refused:
        wire.estimated_cost(answer)
    assert (refused.value.status, refused.value.code, refused.value.retryable) == (
        400,
        wire.NOT_ALLOWED,
        False,
    )
    assert "$42.50" in refused.value.message and "allowed_to_proceed" in refused.value.message
