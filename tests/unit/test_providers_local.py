"""The local trainer as a provider (gateway/providers/local.py): registered beside the upstreams,
answering what every provider answers, and no upstream."""

import json
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from gateway.catalog import LOCAL_PROVIDER
from gateway.errors import InvalidRequest
from gateway.fine_tuning import upstream_limits
from gateway.fine_tuning.params import JobCreateParams
from gateway.providers.base import Driver, Provider
from gateway.providers.config import UpstreamSpec
from gateway.providers.local import LocalProvider
from gateway.providers.registry import build_providers
from gateway.providers.together import TogetherProvider
from gateway.settings import Settings

CREATE = {
    "model": "tiny",
    "method": {"type": "dpo"},
    "suffix": "x",
    "seed": 7,
    "validation_file": "file-v",
    "integrations": [{"type": "wandb", "wandb": {"project": "p"}}],
}


def spec(name: str, **extra: object) -> UpstreamSpec:
    return UpstreamSpec.model_validate({"name": name, "api_key": "k"} | extra)


def test_the_local_trainer_does_every_action_drives_its_jobs_itself_and_serves_their_models():
    local = LocalProvider()
    assert local.name == LOCAL_PROVIDER == "local"
    assert local.actions == frozenset({"cancel", "pause", "resume"})
    assert local.driver is Driver.TRAINER
    assert local.chats_here
    assert local.unsupported(CREATE) is None  # its limits are the catalog's


async def test_it_is_registered_beside_the_upstreams_and_is_no_upstream():
    providers = build_providers([spec("tg", kind="together", base_url="https://api.together.xyz/v1")], [])
    try:
        assert set(providers) == {LOCAL_PROVIDER, "tg"}
        assert isinstance(providers[LOCAL_PROVIDER], LocalProvider)
        assert not isinstance(providers[LOCAL_PROVIDER], Provider)
        upstream = providers["tg"]
        assert isinstance(upstream, TogetherProvider) and isinstance(upstream, Provider)
        assert upstream.driver is Driver.LOOKS and not upstream.chats_here
    finally:
        for provider in providers.values():
            await provider.close()


def test_no_upstream_may_take_the_local_trainers_name(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FTGATE_UPSTREAMS", json.dumps([{"name": LOCAL_PROVIDER, "api_key": "k"}]))
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    [error] = refused.value.errors()
    assert error["loc"] == ("upstreams", 0, "name")
    assert "an upstream cannot be named 'local': the local trainer has that name" in error["msg"]


def test_a_local_job_goes_through_the_same_limits_as_an_upstreams_and_none_refuses_it():
    runtime = SimpleNamespace(providers={LOCAL_PROVIDER: LocalProvider()})
    params = JobCreateParams.model_validate({"model": "tiny", "training_file": "file-t", "seed": 7})
    upstream_limits.require_create_supported(runtime, LOCAL_PROVIDER, "tiny", {"type": "dpo"}, params)  # type: ignore[arg-type]
    job = SimpleNamespace(id="ftjob-1", provider=LOCAL_PROVIDER)
    for action in ("cancel", "pause", "resume"):
        upstream_limits.require_action_supported(runtime, job, action)  # type: ignore[arg-type]


def test_an_upstream_refuses_the_actions_it_cannot_carry_out():
    runtime = SimpleNamespace(providers={"tg": SimpleNamespace(actions=frozenset({"cancel"}))})
    job = SimpleNamespace(id="ftjob-1", provider="tg")
    upstream_limits.require_action_supported(runtime, job, "cancel")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="cannot pause"):
        upstream_limits.require_action_supported(runtime, job, "pause")  # type: ignore[arg-type]
