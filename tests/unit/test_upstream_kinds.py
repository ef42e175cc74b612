"""Each configured upstream gets the adapter of its `kind`, with the settings that kind needs."""

import pytest

from gateway.providers.azure import AzureProvider
from gateway.providers.azure_deployments import deployment_name
from gateway.providers.config import UpstreamSpec
from gateway.providers.fireworks import FireworksProvider
from gateway.providers.openai import OpenAIProvider
from gateway.providers.registry import build_providers
from gateway.providers.together import TogetherProvider

ARM = {"subscription_id": "sub", "resource_group": "rg", "account_name": "res", "token": "secret-token"}


def spec(name: str, **extra: object) -> UpstreamSpec:
    return UpstreamSpec.model_validate({"name": name, "api_key": "k"} | extra)


async def test_each_upstream_gets_the_adapter_of_its_kind():
    providers = build_providers(
        [
            spec("plain"),
            spec("tg", kind="together", base_url="https://api.together.xyz/v1"),
            spec("fw", kind="fireworks", base_url="https://api.fireworks.ai/v1", account_id="acme"),
            spec("az", kind="azure", base_url="https://res.openai.azure.com/openai/v1", azure_deployment=ARM),
        ],
        [],
    )
    assert isinstance(providers["plain"], OpenAIProvider)
    assert isinstance(providers["tg"], TogetherProvider)
    assert providers["tg"].actions == frozenset({"cancel"})
    assert isinstance(providers["fw"], FireworksProvider)
    assert providers["fw"].actions == frozenset({"cancel"})
    assert isinstance(providers["az"], AzureProvider)
    assert providers["az"].actions == frozenset({"cancel", "pause", "resume"})
    assert providers["az"].http.client.headers["api-key"] == "k"
    assert "authorization" not in providers["az"].http.client.headers
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
    provider = build_providers([fw], [])["fw"]
    assert isinstance(provider, FireworksProvider)
    assert provider.chat_url == "https://api.fireworks.ai/inference/v1/chat/completions"
    await provider.close()


def test_an_azure_upstream_needs_where_its_models_are_deployed():
    with pytest.raises(ValueError, match="azure_deployment"):
        spec("az", kind="azure", base_url="https://res.openai.azure.com/openai/v1")
    az = spec("az", kind="azure", azure_deployment=ARM)
    assert az.azure_deployment is not None
    assert str(az.azure_deployment.management_url) == "https://management.azure.com/"
    assert (az.azure_deployment.sku, az.azure_deployment.capacity) == ("standard", 1)
    assert "secret-token" not in repr(az) and "secret-token" not in az.model_dump_json()


def test_a_models_deployment_is_named_after_it_within_azures_rules():
    model = "gpt-4o-mini-2024-07-18.ft-0123456789abcdef0123456789abcdef"
    assert deployment_name(model) == model
    checkpoint = deployment_name(f"{model}:ckpt-step-10")
    assert len(checkpoint) <= 64 and ":" not in checkpoint
    assert checkpoint != deployment_name(f"{model}:ckpt-step-20")
    assert deployment_name("x" * 100) == deployment_name("x" * 100)
    assert len(deployment_name("x" * 100)) == 64


def test_an_unknown_kind_is_a_configuration_error():
    with pytest.raises(ValueError, match="kind"):
        spec("x", kind="mistral")


def test_upstream_estimates_are_for_the_kinds_that_give_them():
    assert spec("tg", kind="together", upstream_estimates=True).upstream_estimates
    assert spec("fw", kind="fireworks", account_id="acme", upstream_estimates=True).upstream_estimates
    assert not spec("plain").upstream_estimates
    with pytest.raises(ValueError, match="upstream 'plain' is of kind 'openai', whose API gives no price"):
        spec("plain", upstream_estimates=True)
