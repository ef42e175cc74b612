"""The configured upstreams as providers, by name, each with the adapter of its `kind`."""

import logging

from gateway.catalog import LOCAL_PROVIDER, BaseModelSpec
from gateway.providers.base import Provider
from gateway.providers.config import UpstreamSpec
from gateway.providers.fireworks import FireworksProvider
from gateway.providers.openai import OpenAIProvider
from gateway.providers.together import TogetherProvider

log = logging.getLogger(__name__)

ADAPTERS = {"openai": OpenAIProvider, "together": TogetherProvider, "fireworks": FireworksProvider}


class UnsupportedUpstreamKind(ValueError):
    """An upstream of a kind ftgate has no adapter for yet: refused at start-up, never taken for
    another kind."""


def build_providers(upstreams: list[UpstreamSpec], catalog: list[BaseModelSpec]) -> dict[str, Provider]:
    providers: dict[str, Provider] = {spec.name: _adapter(spec) for spec in upstreams}
    for name in sorted({spec.provider for spec in catalog} - {LOCAL_PROVIDER} - providers.keys()):
        log.info("no upstream named %r is configured: its models are not offered", name)
    return providers


def _adapter(spec: UpstreamSpec) -> Provider:
    adapter = ADAPTERS.get(spec.kind)
    if adapter is None:
        raise UnsupportedUpstreamKind(
            f"upstream {spec.name!r} is of kind {spec.kind!r}, which this ftgate cannot run yet "
            f"(supported: {', '.join(sorted(ADAPTERS))})"
        )
    return adapter(spec)
