"""Each configured upstream gets the adapter of its `kind`; kinds without one stop the start."""

import pytest

from gateway.providers.config import UpstreamSpec
from gateway.providers.openai import OpenAIProvider
from gateway.providers.registry import UnsupportedUpstreamKind, build_providers
from gateway.providers.together import TogetherProvider


def spec(name: str, **extra: object) -> UpstreamSpec:
    return UpstreamSpec.model_validate({"name": name, "api_key": "k"} | extra)


async def test_each_upstream_gets_the_adapter_of_its_kind():
    providers = build_providers(
        [spec("plain"), spec("tg", kind="together", base_url="https://api.together.xyz/v1")], []
    )
    assert isinstance(providers["plain"], OpenAIProvider)
    assert isinstance(providers["tg"], TogetherProvider)
    assert providers["tg"].actions == frozenset({"cancel"})
    for provider in providers.values():
        await provider.close()


@pytest.mark.parametrize("kind", ["azure", "fireworks"])
def test_kinds_without_an_adapter_are_refused_naming_the_upstream(kind: str):
    with pytest.raises(UnsupportedUpstreamKind, match=f"upstream 'corp' is of kind '{kind}'"):
        build_providers([spec("corp", kind=kind)], [])


def test_an_unknown_kind_is_a_configuration_error():
    with pytest.raises(ValueError, match="kind"):
        spec("x", kind="mistral")
