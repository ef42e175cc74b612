"""The job's `method`, with "auto" hyperparameters until validation and numbers after it."""

from typing import Any

from gateway.errors import InvalidRequest
from gateway.fine_tuning.params import DpoMethod, JobCreateParams, SupervisedMethod

COMMON_KEYS = ("batch_size", "learning_rate_multiplier", "n_epochs")
DEFAULT_DPO_BETA = 0.1


def normalize_method(params: JobCreateParams) -> dict[str, Any]:
    """One `method` object from the request's `method` and deprecated `hyperparameters`."""
    method = params.method
    legacy = params.hyperparameters
    if method is None:
        method_type = "supervised"
        chosen: SupervisedMethod | DpoMethod = SupervisedMethod(
            hyperparameters=legacy or SupervisedMethod().hyperparameters
        )
    elif method.type == "reinforcement":
        raise InvalidRequest(
            "Reinforcement fine-tuning is not supported by this gateway; use 'supervised' or 'dpo'.",
            param="method.type",
            code="unsupported_method",
        )
    else:
        method_type = method.type
        chosen = (
            (method.supervised or SupervisedMethod())
            if method_type == "supervised"
            else (method.dpo or DpoMethod())
        )
        if legacy is not None:
            _merge_legacy(method_type, chosen, legacy.model_dump(exclude_unset=True))
    return {"type": method_type, method_type: {"hyperparameters": chosen.hyperparameters.model_dump()}}


def _merge_legacy(method_type: str, chosen: SupervisedMethod | DpoMethod, legacy: dict[str, Any]) -> None:
    current = chosen.hyperparameters
    for key, value in legacy.items():
        mine = getattr(current, key)
        if mine != "auto" and mine != value:
            raise InvalidRequest(
                f"'hyperparameters.{key}' conflicts with 'method.{method_type}.hyperparameters.{key}'. "
                "The top-level 'hyperparameters' field is deprecated; set them in 'method' only.",
                param="hyperparameters",
            )
        setattr(current, key, value)


def method_hyperparameters(method: dict[str, Any]) -> dict[str, Any]:
    return method[method["type"]]["hyperparameters"]


def top_level(method: dict[str, Any]) -> dict[str, Any]:
    """The job's legacy `hyperparameters` field: the three common keys of the method."""
    values = method_hyperparameters(method)
    return {key: values[key] for key in COMMON_KEYS}


def default_epochs(n_examples: int) -> int:
    """OpenAI cookbook rule: 3 epochs, more for tiny sets, fewer for huge ones."""
    if n_examples * 3 < 100:
        return min(25, 100 // max(n_examples, 1))
    if n_examples * 3 > 25000:
        return max(1, 25000 // n_examples)
    return 3


def default_batch_size(n_examples: int) -> int:
    return max(1, min(256, round(0.002 * n_examples)))


def resolve_auto(method: dict[str, Any], n_examples: int, learning_rate_multiplier: float) -> dict[str, Any]:
    """A copy of `method` with every "auto" replaced by the number it resolves to."""
    defaults = {
        "n_epochs": default_epochs(n_examples),
        "batch_size": default_batch_size(n_examples),
        "learning_rate_multiplier": learning_rate_multiplier,
        "beta": DEFAULT_DPO_BETA,
    }
    values = {
        key: defaults[key] if value == "auto" else value
        for key, value in method_hyperparameters(method).items()
    }
    return {"type": method["type"], method["type"]: {"hyperparameters": values}}
