"""Each configured upstream gets the adapter of its `kind`; kinds without one stop the start."""

import pytest

from gateway.providers.config import UpstreamSpec
from gateway.providers.fireworks import FireworksProvider
from gateway.providers.openai import OpenAIProvider
from gateway.providers.registry import UnsupportedUpstreamKind, build_providers
from gateway.providers.together import TogetherProvider


def spec(name: str, **extra: object) -> UpstreamSpec:
    return UpstreamSpec.model_validate({"name": name, "api_key": "k"} | extra)


async def test_each_upstream_gets_the_adapter_of_its_kind():
    providers = build_providers(
        [
            spec("plain"),
            spec("tg", kind="together", base_url="https://api.together.xyz/v1"),
            spec("fw", kind="fireworks", base_url="https://api.fireworks.ai/v1", account_id="acme"),
        ],
        [],
    )
    assert isinstance(providers["plain"], OpenAIProvider)
    assert isinstance(providers["tg"], TogetherProvider)
    assert providers["tg"].actions == frozenset({"cancel"})
    assert isinstance(providers["fw"], FireworksProvider)
    assert providers["fw"].actions == frozenset({"cancel"})
    for provider in providers.values():
        await provider.close()


def test_a_fireworks_upstream_needs_its_account_and_chats_at_its_inference_url():
    with pytest.raises(ValueError, match="account_id"):
        spec("fw", kind="fireworks", base_url="https://api.fireworks.ai/v1")
    fw = spec("fw", kind="fireworks", base_url="https://api.fireworks.ai/v1", account_id="acme")
    assert fw.chat_base_url == "https://api.fireworks.ai/inference/v1"
    local = spec("fw", kind="fireworks", base_url="http://127.0.0.1:8123/v1", account_id="acme")
    assert local.chat_base_url == "http://127.0.0.1:8123/inference/v1"
    elsewhere = spec(
        "fw", kind="fireworks", account_id="acme", inference_base_url="https://serve.example.com/v1/"
    )
    assert elsewhere.chat_base_url == "https://serve.example.com/v1"


async def test_fireworks_chat_goes_to_the_inference_url():
    fw = spec("fw", kind="fireworks", base_url="https://api.fireworks.ai/v1", account_id="acme")
    [provider] = build_providers([fw], []).values()
    assert isinstance(provider, FireworksProvider)
    assert provider.chat_url == "https://api.fireworks.ai/inference/v1/chat/completions"
    await provider.close()


@pytest.mark.parametrize("kind", ["azure"])
def test_kinds_without_an_adapter_are_refused_naming_the_upstream(kind: str):
    with pytest.raises(UnsupportedUpstreamKind, match=f"upstream 'corp' is of kind '{kind}'"):
        build_providers([spec("corp", kind=kind)], [])


def test_an_unknown_kind_is_a_configuration_error():
    with pytest.raises(ValueError, match="kind"):
        spec("x", kind="mistral")


def test_upstream_estimates_are_for_the_kinds_that_give_them():
    assert spec("tg", kind="together", upstream_estimates=True).upstream_estimates
    assert spec("fw", kind="fireworks", account_id="acme", upstream_estimates=True).upstream_estimates
    assert not spec("plain").upstream_estimates
    with pytest.raises(ValueError, match="upstream 'plain' is of kind 'openai', whose API gives no price"):
        spec("plain", upstream_estimates=True)
