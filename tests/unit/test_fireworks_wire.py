"""Fireworks' shapes mapped to OpenAI's and back (gateway/providers/fireworks_wire.py)."""

import re

import httpx
import pytest

from gateway.providers import fireworks_wire as wire
from gateway.providers.http import _error

ID = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
JOB = "accounts/acme/supervisedFineTuningJobs/ftjob-x"


def request(method: dict | None = None, **extra: object) -> dict:
    return {
        "model": "accounts/fireworks/models/llama-v3p1-8b-instruct",
        "training_file": "accounts/acme/datasets/ftgate-1",
        "method": method or {"type": "supervised"},
        "seed": 3,
        "metadata": {"ftgate_job_id": "ftjob-AbC123"},
        **extra,
    }


@pytest.mark.parametrize(
    "state",
    [
        ("CREATING", "queued"),
        ("PENDING", "queued"),
        ("RE_QUEUEING", "queued"),
        ("IDLE", "queued"),
        ("CREATING_INPUT_DATASET", "queued"),
        ("VALIDATING", "validating_files"),
        ("RUNNING", "running"),
        ("WRITING_RESULTS", "running"),
        ("EVALUATION", "running"),
        ("CANCELLING", "running"),
        ("COMPLETED", "succeeded"),
        ("EARLY_STOPPED", "succeeded"),
        ("FAILED", "failed"),
        ("EXPIRED", "failed"),
        ("CANCELLED", "cancelled"),
        ("DELETING", "cancelled"),
        ("DELETING_CLEANING_UP", "cancelled"),
        ("DELETED", "cancelled"),
        ("ARCHIVED", "cancelled"),
        ("PAUSED", "paused"),
    ],
)
def test_each_job_state_maps_to_an_openai_status(state: tuple[str, str]):
    fireworks, openai = state
    assert wire.status({"state": f"JOB_STATE_{fireworks}"}) == openai


def test_rfc3339_times_with_fractions_and_offsets_are_unix_seconds():
    assert wire.unix("2026-12-04T16:00:00Z") == 1796400000
    assert wire.unix("2026-12-04T16:00:00.123456789Z") == 1796400000
    assert wire.unix("2026-12-04T08:00:00.5-08:00") == 1796400000
    assert wire.unix("2026-12-04T16:00:00") == 1796400000


def test_int64_values_may_come_as_strings():
    assert wire.integer("42") == 42
    assert wire.integer(42) == 42
    assert wire.integer(None) is None
    assert wire.integer("x") is None


def test_ids_are_derived_lowercase_short_and_apart_for_ids_differing_in_case():
    assert ID.match(wire.job_id("ftjob-AbC123"))
    assert wire.job_id("ftjob-AbC123") == wire.job_id("ftjob-AbC123")
    assert wire.job_id("ftjob-AbC123") != wire.job_id("ftjob-abc123")
    assert ID.match(wire.dataset_id(b'{"messages": []}\n'))
    assert wire.dataset_id(b"a") == wire.dataset_id(b"a") != wire.dataset_id(b"b")
    long = wire.output_model_id(wire.job_id("ftjob-" + "A" * 24), "My Suffix!" * 8)
    assert ID.match(long) and long.startswith("my-suffix-my-suffix")
    assert wire.resource_id("9 Lives") == "x-9-lives"


def test_the_create_body_maps_the_hyperparameters_and_carries_the_suffix():
    method = {
        "type": "supervised",
        "supervised": {"hyperparameters": {"n_epochs": 2, "batch_size": 8, "learning_rate_multiplier": 3}},
    }
    job_id = wire.job_id("ftjob-AbC123")
    body = wire.create_body(
        request(method, suffix="elle", validation_file="accounts/acme/datasets/v"), "acme", job_id
    )
    assert body == {
        "displayName": "ftjob-AbC123",
        "dataset": "accounts/acme/datasets/ftgate-1",
        "evaluationDataset": "accounts/acme/datasets/v",
        "baseModel": "accounts/fireworks/models/llama-v3p1-8b-instruct",
        "outputModel": f"accounts/acme/models/elle-{job_id}",
        "epochs": 2,
        "batchSizeSamples": 8,
        "learningRate": pytest.approx(3e-4),
    }


def test_auto_hyperparameters_are_left_to_fireworks():
    method = {
        "type": "supervised",
        "supervised": {"hyperparameters": {"n_epochs": "auto", "batch_size": "auto"}},
    }
    body = wire.create_body(request(method), "acme", "j")
    assert not {"epochs", "batchSizeSamples", "learningRate"} & body.keys()


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"method": {"type": "reinforcement"}}, "method.type"),
        (
            {"method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.5}}}},
            "method.dpo.hyperparameters.beta",
        ),
        ({"method": {"type": "dpo"}, "validation_file": "accounts/acme/datasets/v"}, "validation_file"),
        ({"integrations": [{"type": "wandb"}]}, "integrations"),
    ],
)
def test_what_fireworks_cannot_do_is_named(extra: dict, param: str):
    refused = wire.unsupported(request() | extra)
    assert refused is not None and refused.param == param


def test_a_job_maps_with_its_output_model_and_end():
    item = {
        "name": JOB,
        "state": "JOB_STATE_COMPLETED",
        "outputModel": "accounts/acme/models/elle-x",
        "createTime": "2026-12-04T16:00:00Z",
        "completedTime": "2026-12-04T16:10:00.25Z",
    }
    job = wire.job(item)
    assert (job.id, job.status, job.fine_tuned_model, job.finished_at) == (
        "ftjob-x",
        "succeeded",
        "accounts/acme/models/elle-x",
        1796400600,
    )
    assert wire.job(item | {"outputModel": "elle-x"}).fine_tuned_model == "accounts/acme/models/elle-x"


def test_a_failed_job_carries_fireworks_words():
    item = {
        "name": JOB,
        "state": "JOB_STATE_FAILED",
        "status": {"code": "INTERNAL", "message": "OOM at step 3"},
    }
    assert wire.job(item).error == {"code": "upstream_error", "message": "OOM at step 3", "param": None}
    assert wire.job({"name": JOB, "state": "JOB_STATE_EXPIRED"}).error["message"] == wire.EXPIRED


def test_events_come_from_the_metrics_file_and_epochs_with_stable_ids():
    item = {"name": JOB, "state": "JOB_STATE_RUNNING", "createTime": "2026-12-04T16:00:00Z", "epochs": 2}
    lines = "\n".join(
        f'{{"step": "{step}", "epoch": {1 + (step - 1) // 2}, "train_loss": {1.0 / step}, '
        f'"time": "2026-12-04T16:00:0{step}.5Z"}}'
        for step in range(1, 4)
    )
    listed = wire.events(item, wire.metrics_lines(lines + "\nnot json"))
    assert [event.id for event in listed] == ["fw-step-3", "fw-epoch-1", "fw-step-2", "fw-step-1"]
    assert listed[0].data == {"step": 3, "epoch": 2, "train_loss": pytest.approx(1 / 3)}
    assert listed[0].created_at == 1796400003
    again = wire.events(item, wire.metrics_lines(lines))
    assert again == listed
    done = wire.events(item | {"state": "JOB_STATE_COMPLETED"}, wire.metrics_lines(lines))
    assert done[0].id == "fw-epoch-2"
    page = wire.page(listed, "fw-epoch-1", 1)
    assert [event.id for event in page.items] == ["fw-step-2"] and page.has_more


def test_without_metrics_finished_epochs_come_from_the_progress():
    item = {"name": JOB, "state": "JOB_STATE_RUNNING", "jobProgress": {"epoch": "3", "percent": 70}}
    assert [event.message for event in wire.events(item, [])] == ["Epoch 2 completed", "Epoch 1 completed"]
    stopped = wire.events(item | {"state": "JOB_STATE_EARLY_STOPPED"}, [])
    assert stopped[0].message == "Fireworks stopped the training early"


@pytest.mark.parametrize(
    "body",
    [
        {
            "error": {
                "code": 404,
                "message": "Dataset accounts/acme/datasets/d not found",
                "status": "NOT_FOUND",
            }
        },
        {"code": 5, "message": "Dataset accounts/acme/datasets/d not found", "details": []},
    ],
)
def test_google_rpc_status_errors_are_read_in_fireworks_words(body: dict):
    error = _error("fw", httpx.Response(404, json=body))
    assert error.message == "Dataset accounts/acme/datasets/d not found"
    assert error.status == 404 and error.not_found and not error.retryable
    assert error.code == ("NOT_FOUND" if "error" in body else None)
    assert _error(
        "fw", httpx.Response(409, json={"error": {"code": 409, "message": "x", "status": "ALREADY_EXISTS"}})
    ).code == ("ALREADY_EXISTS")


@pytest.mark.parametrize(
    ("money", "micros"),
    [
        ({"currencyCode": "USD", "units": "12", "nanos": 345678000}, 12_345_678),
        ({"currencyCode": "USD", "units": 3, "nanos": 999_999_500}, 4_000_000),
        ({"units": "9223372036854", "nanos": 0}, 9_223_372_036_854_000_000),
        ({"currencyCode": "USD", "nanos": 420_000_000}, 420_000),
        ({"currencyCode": "EUR", "units": "5"}, None),
        ({"currencyCode": "USD", "units": "lots"}, None),
        ({"currencyCode": "USD", "units": "-1"}, None),
        (None, None),
    ],
)
def test_estimated_cost_is_exact_micro_dollars_of_usd_money(money: object, micros: int | None):
    assert wire.cost_micros(money) == micros


def test_a_job_carries_its_estimated_cost_only_where_the_operator_wants_it():
    item = {
        "name": JOB,
        "state": "JOB_STATE_RUNNING",
        "estimatedCost": {"currencyCode": "USD", "units": "2", "nanos": 500000000},
    }
    assert wire.job(item, estimates=True).estimated_cost_micros == 2_500_000
    assert wire.job(item).estimated_cost_micros is None


def test_a_dpo_job_carries_its_settings_in_training_config_and_its_beta_in_loss_config():
    method = {
        "type": "dpo",
        "dpo": {
            "hyperparameters": {"beta": 0.2, "n_epochs": 3, "batch_size": 8, "learning_rate_multiplier": 0.5}
        },
    }
    assert wire.unsupported(request(method)) is None
    job_id = wire.job_id("ftjob-AbC123")
    assert wire.collection(request(method)) == "dpoJobs"
    assert wire.create_body(request(method, suffix="pref"), "acme", job_id) == {
        "displayName": "ftjob-AbC123",
        "dataset": "accounts/acme/datasets/ftgate-1",
        "trainingConfig": {
            "baseModel": "accounts/fireworks/models/llama-v3p1-8b-instruct",
            "outputModel": f"accounts/acme/models/pref-{job_id}",
            "epochs": 3,
            "learningRate": pytest.approx(5e-5),
            "batchSizeSamples": 8,
        },
        "lossConfig": {"method": "DPO", "dpo": {"beta": 0.2}},
    }
    auto = {"type": "dpo", "dpo": {"hyperparameters": {"beta": "auto", "n_epochs": "auto"}}}
    body = wire.create_body(request(auto), "acme", job_id)
    assert body["lossConfig"] == {"method": "DPO"} and "epochs" not in body["trainingConfig"]


def test_a_dpo_job_is_known_as_dpo_jobs_slash_id_and_read_at_its_resource_name():
    item = {
        "name": "accounts/acme/dpoJobs/ftjob-x",
        "state": "JOB_STATE_COMPLETED",
        "trainingConfig": {"outputModel": "accounts/acme/models/pref-x", "epochs": 2},
    }
    mapped = wire.job(item)
    assert mapped.id == "dpoJobs/ftjob-x"
    assert mapped.fine_tuned_model == "accounts/acme/models/pref-x"
    assert wire.job_path(mapped.id) == "dpoJobs/ftjob-x"
    assert wire.job_path("ftjob-x") == "supervisedFineTuningJobs/ftjob-x"
    assert wire.upstream_job_id("supervisedFineTuningJobs", "ftjob-x") == "ftjob-x"
    assert [event.id for event in wire.events(item, [])] == ["fw-epoch-2", "fw-epoch-1"]
