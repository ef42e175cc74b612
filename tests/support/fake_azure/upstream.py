"""FakeAzure: the scripted Azure OpenAI resource on a loopback port (its v1 API at `base_url`)
and its Azure Resource Manager on another (`management_url`)."""

import copy
from collections.abc import Callable
from typing import Any

from ..fake_upstream import FakeUpstream
from ..fake_upstream.faults import answer
from ..fake_upstream.server import Request, Response, start_server
from .api import AzureApi
from .arm import Arm
from .lifecycle import AzureUpstream

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
RESOURCE_GROUP = "ftgate-rg"
ACCOUNT = "ftgate-res"


class FakeAzure(FakeUpstream):
    upstream_class = AzureUpstream
    api_class = AzureApi
    _upstream: AzureUpstream
    _api: AzureApi

    def __init__(self, api_key: str, *, token: str, **options: Any) -> None:
        super().__init__(api_key, **options)
        self._arm = Arm(self._upstream, token, SUBSCRIPTION, RESOURCE_GROUP, ACCOUNT)
        self.arm_port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/openai/v1"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.arm_port}"

    def deployment_settings(self, token: str) -> dict[str, Any]:
        """An `azure_deployment` entry for this resource, with `token`."""
        return {
            "management_url": self.management_url,
            "subscription_id": SUBSCRIPTION,
            "resource_group": RESOURCE_GROUP,
            "account_name": ACCOUNT,
            "token": token,
            "sku": "standard",
            "capacity": 1,
        }

    async def serve(self, ready: Callable[[], None] = lambda: None) -> None:
        async def arm(request: Request) -> Response | None:
            return await answer(self._faults.take(request), request, self._arm.handle)

        management = await start_server(arm, "127.0.0.1", 0)
        self.arm_port = management.sockets[0].getsockname()[1]
        try:
            await super().serve(ready)
        finally:
            management.close()

    async def _handle(self, request: Request) -> Response | None:
        if request.path.startswith("/openai/v1/"):
            request.path = request.path.removeprefix("/openai")
        elif not request.path.startswith("/_fake/"):
            return Response(404, {"error": {"code": "404", "message": "Resource not found"}})
        return await super()._handle(request)

    def provision(self, seconds: float, failing: bool = False) -> None:
        """Deployments made from now on take `seconds` to provision, then succeed (or fail)."""

        def set_up() -> None:
            self._upstream.provision_seconds = seconds
            self._upstream.failing_deployments = failing

        self._call(set_up)

    def keep_metadata(self, keeping: bool) -> None:
        """Whether jobs made from now on keep the metadata they were created with."""
        self._call(setattr, self._upstream, "keeping_metadata", keeping)

    def add_base_deployment(self, name: str) -> None:
        self._call(self._api.base_deployments.add, name)

    @property
    def arm_requests(self) -> list[dict[str, Any]]:
        return self._call(copy.deepcopy, self._arm.requests)

    @property
    def chats(self) -> list[str]:
        return self._call(list, self._api.chats)

    def deployments(self) -> dict[str, str]:
        """Each deployment's model."""
        return self._call(
            lambda: {
                name: deployment.body["properties"]["model"]["name"]
                for name, deployment in self._upstream.deployments.items()
            }
        )
