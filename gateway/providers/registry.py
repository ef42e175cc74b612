"""The configured upstreams as providers, by name."""

import logging

from gateway.catalog import LOCAL_PROVIDER, BaseModelSpec
from gateway.providers.base import Provider
from gateway.providers.config import UpstreamSpec
from gateway.providers.openai import OpenAIProvider

log = logging.getLogger(__name__)


def build_providers(upstreams: list[UpstreamSpec], catalog: list[BaseModelSpec]) -> dict[str, Provider]:
    providers: dict[str, Provider] = {spec.name: OpenAIProvider(spec) for spec in upstreams}
    for name in sorted({spec.provider for spec in catalog} - {LOCAL_PROVIDER} - providers.keys()):
        log.info("no upstream named %r is configured: its models are not offered", name)
    return providers
