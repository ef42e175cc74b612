"""The providers by name: the local trainer, and each configured upstream with the adapter of
its `kind`."""

import logging

from gateway.catalog import LOCAL_PROVIDER, BaseModelSpec
from gateway.providers.azure import AzureProvider
from gateway.providers.base import JobProvider
from gateway.providers.config import UpstreamSpec
from gateway.providers.fireworks import FireworksProvider
from gateway.providers.local import LocalProvider
from gateway.providers.openai import OpenAIProvider
from gateway.providers.together import TogetherProvider

log = logging.getLogger(__name__)

ADAPTERS = {
    "openai": OpenAIProvider,
    "azure": AzureProvider,
    "together": TogetherProvider,
    "fireworks": FireworksProvider,
}


def build_providers(upstreams: list[UpstreamSpec], catalog: list[BaseModelSpec]) -> dict[str, JobProvider]:
    providers: dict[str, JobProvider] = {LOCAL_PROVIDER: LocalProvider()}
    providers |= {spec.name: ADAPTERS[spec.kind](spec) for spec in upstreams}
    for name in sorted({spec.provider for spec in catalog} - providers.keys()):
        log.info("no upstream named %r is configured: its models are not offered", name)
    return providers
