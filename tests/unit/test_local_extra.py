"""What an install without the `local` extra offers and how it refuses the rest."""

import importlib.util
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import local_extra
from gateway.catalog import DEFAULT_BASE_MODELS, LOCAL_PROVIDER, BaseModelSpec, offered

LOCAL = BaseModelSpec(id="tiny-chat", provider=LOCAL_PROVIDER, path=Path("/models/tiny-chat"))
UPSTREAM = DEFAULT_BASE_MODELS[0]


@pytest.fixture
def without_torch(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An interpreter where torch and transformers cannot be found."""
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name in ("torch", "transformers") else find_spec(name, *args),
    )
    local_extra.missing.cache_clear()
    yield
    local_extra.missing.cache_clear()


def test_this_test_environment_has_the_extra() -> None:
    assert local_extra.installed() and local_extra.missing() == ()


def test_the_missing_modules_are_named(without_torch: None) -> None:
    assert local_extra.missing() == ("torch", "transformers")
    assert not local_extra.installed()


def test_local_models_are_offered_only_with_the_extra() -> None:
    catalog = [UPSTREAM, LOCAL]
    providers = {LOCAL_PROVIDER, UPSTREAM.provider}
    assert offered(catalog, providers, runs_local=True) == catalog
    assert offered(catalog, providers, runs_local=False) == [UPSTREAM]


def test_the_refusal_is_a_400_in_openais_envelope(without_torch: None) -> None:
    refused = local_extra.refusal("tiny-chat")
    assert refused.status_code == 400
    error = refused.body()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "local_extra_missing" and error["param"] == "model"
    assert "`tiny-chat`" in error["message"]
    assert "missing: torch, transformers" in error["message"]
    assert "pip install 'ftgate[local]'" in error["message"]


def test_a_job_error_names_the_extra(without_torch: None) -> None:
    error = local_extra.job_error().as_wire()
    assert error["code"] == "local_extra_missing" and error["param"] == "model"
    assert "pip install 'ftgate[local]'" in error["message"]


def test_a_local_command_stops_with_the_install_command(without_torch: None) -> None:
    with pytest.raises(SystemExit) as stopped:
        local_extra.require_for_command("ftgate models build-tiny")
    assert str(stopped.value).startswith("ftgate models build-tiny: ")
    assert "ftgate[local]" in str(stopped.value)


def test_a_command_runs_with_the_extra() -> None:
    local_extra.require_for_command("ftgate models build-tiny")


def test_the_operator_is_told_which_local_models_are_not_offered(
    without_torch: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=local_extra.__name__):
        local_extra.log_unoffered([UPSTREAM])
        assert caplog.records == []
        local_extra.log_unoffered([UPSTREAM, LOCAL])
    [record] = caplog.records
    assert "tiny-chat" in record.getMessage() and UPSTREAM.id not in record.getMessage()
