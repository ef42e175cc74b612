import pytest

from gateway.errors import InvalidRequest
from gateway.fine_tuning.hyperparameters import (
    default_batch_size,
    default_epochs,
    normalize_method,
    resolve_auto,
    top_level,
)
from gateway.fine_tuning.params import JobCreateParams

AUTO3 = {"batch_size": "auto", "learning_rate_multiplier": "auto", "n_epochs": "auto"}


def params(**fields) -> JobCreateParams:
    return JobCreateParams.model_validate({"model": "gpt-4o-mini", "training_file": "file-abc", **fields})


@pytest.mark.parametrize(
    ("n", "epochs"),
    [(1, 25), (10, 10), (33, 3), (34, 3), (100, 3), (8333, 3), (8334, 2), (25000, 1), (100000, 1)],
)
def test_default_epochs_cookbook_rule(n, epochs):
    assert default_epochs(n) == epochs


@pytest.mark.parametrize(
    ("n", "batch"),
    [(1, 1), (249, 1), (250, 1), (500, 1), (1000, 2), (10000, 20), (128000, 256), (1000000, 256)],
)
def test_default_batch_size(n, batch):
    assert default_batch_size(n) == batch


def test_no_method_no_legacy_is_supervised_auto():
    assert normalize_method(params()) == {"type": "supervised", "supervised": {"hyperparameters": AUTO3}}


def test_legacy_hyperparameters_only():
    method = normalize_method(params(hyperparameters={"n_epochs": 4, "batch_size": 8}))
    assert method == {
        "type": "supervised",
        "supervised": {"hyperparameters": {**AUTO3, "n_epochs": 4, "batch_size": 8}},
    }


def test_method_and_equal_legacy_values_agree():
    method = normalize_method(
        params(
            method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 4}}},
            hyperparameters={"n_epochs": 4, "learning_rate_multiplier": 1.5},
        )
    )
    assert method["supervised"]["hyperparameters"] == {
        **AUTO3,
        "n_epochs": 4,
        "learning_rate_multiplier": 1.5,
    }


def test_conflicting_legacy_and_method_is_refused():
    with pytest.raises(InvalidRequest) as caught:
        normalize_method(
            params(
                method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 4}}},
                hyperparameters={"n_epochs": 5},
            )
        )
    assert caught.value.param == "hyperparameters"
    assert "n_epochs" in caught.value.message


def test_dpo_defaults_beta_to_auto():
    method = normalize_method(params(method={"type": "dpo"}))
    assert method == {"type": "dpo", "dpo": {"hyperparameters": {**AUTO3, "beta": "auto"}}}


def test_reinforcement_is_refused():
    with pytest.raises(InvalidRequest) as caught:
        normalize_method(params(method={"type": "reinforcement"}))
    assert caught.value.param == "method.type"


def test_resolve_auto_replaces_only_auto():
    method = normalize_method(
        params(method={"type": "dpo", "dpo": {"hyperparameters": {"batch_size": 7, "beta": 0.5}}})
    )
    resolved = resolve_auto(method, n_examples=10, learning_rate_multiplier=1.8)
    assert resolved == {
        "type": "dpo",
        "dpo": {
            "hyperparameters": {"batch_size": 7, "learning_rate_multiplier": 1.8, "n_epochs": 10, "beta": 0.5}
        },
    }
    assert method["dpo"]["hyperparameters"]["n_epochs"] == "auto"  # the input is left alone


def test_resolve_auto_dpo_beta_default():
    resolved = resolve_auto(normalize_method(params(method={"type": "dpo"})), 100, 2.0)
    assert resolved["dpo"]["hyperparameters"] == {
        "batch_size": 1,
        "learning_rate_multiplier": 2.0,
        "n_epochs": 3,
        "beta": 0.1,
    }


def test_top_level_returns_exactly_the_three_common_keys():
    method = normalize_method(params(method={"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 2}}}))
    assert top_level(method) == {**AUTO3, "n_epochs": 2}
