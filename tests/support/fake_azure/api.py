"""Azure OpenAI's v1 data plane: OpenAI's endpoints and shapes under `/openai/v1`, with Azure's
differences: the key in an `api-key` header, 201 on create, `pending` for a queued job,
`organisation_id`, `data: null` on message events, and chat only with a deployment's name."""

from typing import Any

from ..fake_upstream.api import Api
from ..fake_upstream.errors import ApiError
from ..fake_upstream.server import Request, Response
from .lifecycle import AzureUpstream

DEPLOYMENT_NOT_FOUND = (
    "The API deployment for this resource does not exist. If you created the deployment within "
    "the last 5 minutes, please wait a moment and try again."
)


class AzureApi(Api):
    upstream: AzureUpstream

    def __init__(self, upstream: AzureUpstream, api_key: str) -> None:
        super().__init__(upstream, api_key)
        # The deployment names chats were sent to, in order, and the base models' own deployments.
        self.chats: list[str] = []
        self.base_deployments: set[str] = set()

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        if request.method == "POST" and request.path == "/v1/fine_tuning/jobs" and response.status == 200:
            response.status = 201
        if isinstance(response.payload, dict):
            response.payload = _azure_shape(response.payload)
        return response

    def authenticate(self, request: Request) -> None:
        if request.headers.get("api-key") != self.api_key:
            raise ApiError(
                401,
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
                "provide a valid key for an active subscription and use a correct regional API "
                "endpoint for your resource.",
                code="401",
            )

    def chat(self, request: Request) -> Response:
        model = str(self.body(request).get("model"))
        if not self.upstream.ready(model) and model not in self.base_deployments:
            raise ApiError(404, DEPLOYMENT_NOT_FOUND, code="DeploymentNotFound")
        self.chats.append(model)
        return super().chat(request)


def _azure_shape(payload: dict[str, Any]) -> dict[str, Any]:
    if payload.get("object") == "list":
        return payload | {"data": [_azure_shape(item) for item in payload.get("data") or []]}
    if payload.get("object") == "fine_tuning.job":
        shaped = {key: value for key, value in payload.items() if key != "organization_id"}
        shaped["organisation_id"] = payload.get("organization_id")
        if shaped["status"] == "queued":
            shaped["status"] = "pending"
        return shaped
    if payload.get("object") == "fine_tuning.job.event" and payload.get("data") == {}:
        return payload | {"data": None}
    return payload
