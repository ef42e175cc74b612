"""Azure Resource Manager's deployments of one Azure OpenAI resource, on a host of their own:
`PUT|GET /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.CognitiveServices/accounts/
{a}/deployments/{name}?api-version=…` with an Entra bearer token."""

import re
import time
from typing import Any

from ..fake_upstream.server import Request, Response
from .lifecycle import AzureUpstream, Deployment

SKUS = frozenset({"standard", "globalstandard", "developer"})
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")


def arm_error(status: int, code: str, message: str) -> Response:
    return Response(status, {"error": {"code": code, "message": message}})


class Arm:
    def __init__(
        self, upstream: AzureUpstream, token: str, subscription: str, group: str, account: str
    ) -> None:
        self.upstream = upstream
        self.token = token
        self.prefix = (
            f"/subscriptions/{subscription}/resourceGroups/{group}"
            f"/providers/Microsoft.CognitiveServices/accounts/{account}/deployments/"
        )
        self.requests: list[dict[str, Any]] = []

    def handle(self, request: Request) -> Response:
        response = self._answer(request)
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": request.query,
                "body": request.json() if request.body else None,
                "status": response.status,
            }
        )
        return response

    def _answer(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.")
        if not request.path.startswith(self.prefix):
            return arm_error(404, "ResourceNotFound", f"The resource {request.path} was not found.")
        if not request.query.get("api-version"):
            return arm_error(
                400, "MissingApiVersionParameter", "The api-version query parameter is required."
            )
        name = request.path.removeprefix(self.prefix)
        if request.method == "PUT":
            return self._put(name, request.json())
        if request.method == "GET":
            deployment = self.upstream.deployments.get(name)
            if deployment is None:
                return arm_error(404, "DeploymentNotFound", f"Deployment '{name}' not found.")
            return Response(200, self._resource(deployment))
        return arm_error(405, "MethodNotAllowed", f"{request.method} is not supported here.")

    def _put(self, name: str, body: Any) -> Response:
        if not NAME.match(name):
            return arm_error(400, "InvalidResourceName", f"The deployment name '{name}' is invalid.")
        sku = (body or {}).get("sku") or {}
        model = ((body or {}).get("properties") or {}).get("model") or {}
        if sku.get("name", "").lower() not in SKUS or not isinstance(sku.get("capacity"), int):
            return arm_error(400, "InvalidSku", f"The sku {sku} is not valid.")
        if model.get("format") != "OpenAI" or model.get("version") != "1":
            return arm_error(400, "InvalidModel", f"The model {model} is not valid.")
        if model.get("name") not in self.upstream.models:
            return arm_error(
                400, "DeploymentModelNotFound", f"The model '{model.get('name')}' was not found."
            )
        existing = self.upstream.deployments.get(name)
        deployment = Deployment(name, body, time.monotonic(), self.upstream.failing_deployments)
        self.upstream.deployments[name] = deployment
        return Response(200 if existing else 201, self._resource(deployment))

    def _resource(self, deployment: Deployment) -> dict[str, Any]:
        state = deployment.provisioning_state(self.upstream.provision_seconds)
        return {
            "id": self.prefix + deployment.name,
            "type": "Microsoft.CognitiveServices/accounts/deployments",
            "name": deployment.name,
            "sku": deployment.body["sku"],
            "properties": {**deployment.body["properties"], "provisioningState": state},
        }
