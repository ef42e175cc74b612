"""Deployments of an `azure` upstream's fine-tuned models, through Azure Resource Manager (a
different host, an Entra bearer token): a model answers chats only under a deployment's name.

A model's deployment is named after it (`deployment_name`), so every ftgate replica finds the same
one, and made with one PUT: a deployment that already exists (made before a crash, or by an
earlier look) is only read."""

import hashlib
import logging
import re
from enum import StrEnum

import httpx

from gateway.providers.base import UpstreamError
from gateway.providers.config import AzureDeployment, UpstreamSpec
from gateway.providers.http import UpstreamHttp

log = logging.getLogger(__name__)

# Azure's rule for deployment names: letters, digits, `.`, `_` and `-`, 2 to 64 of them.
VALID_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
NAME_DIGEST = 8


class Provisioning(StrEnum):
    """A deployment's `properties.provisioningState`, as far as ftgate tells them apart."""

    READY = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"


def deployment_name(model: str) -> str:
    """The deployment that serves `model`: the model's own name where Azure allows it as a
    deployment name (`gpt-4o-mini-2024-07-18.ft-<32 hex>` does), else a shortened, cleaned
    name with a digest of the model's."""
    if VALID_NAME.match(model):
        return model
    digest = hashlib.sha256(model.encode()).hexdigest()[:NAME_DIGEST]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-._")
    return f"{cleaned[: 63 - NAME_DIGEST]}-{digest}"


class AzureDeployments:
    def __init__(self, spec: UpstreamSpec, transport: httpx.AsyncBaseTransport | None = None) -> None:
        assert spec.azure_deployment is not None
        self.settings: AzureDeployment = spec.azure_deployment
        settings = self.settings
        self.http = UpstreamHttp(
            spec,
            transport,
            base_url=str(settings.management_url).rstrip("/"),
            auth={"authorization": f"Bearer {settings.token.get_secret_value()}"},
        )
        self.path = (
            f"/subscriptions/{settings.subscription_id}/resourceGroups/{settings.resource_group}"
            f"/providers/Microsoft.CognitiveServices/accounts/{settings.account_name}/deployments"
        )

    async def ensure(self, model: str) -> str:
        """The provisioning state of `model`'s deployment, made first if there is none."""
        name = deployment_name(model)
        url = f"{self.path}/{name}"
        params = {"api-version": self.settings.api_version}
        try:
            response = await self.http.request("GET", url, params=params)
        except UpstreamError as error:
            if not error.not_found:
                raise
            body = {
                "sku": {"name": self.settings.sku, "capacity": self.settings.capacity},
                "properties": {"model": {"format": "OpenAI", "name": model, "version": "1"}},
            }
            response = await self.http.request("PUT", url, params=params, json=body)
            log.info("azure upstream %s: deploying %s as %s", self.http.name, model, name)
        return str((response.json().get("properties") or {}).get("provisioningState") or "")

    async def close(self) -> None:
        await self.http.close()
