"""ftgate's own OpenAPI document: the errors each operation really answers, in OpenAI's envelope.

Routes declare the errors only they send (`responses=errors(404)`); `document()` adds the ones
that the machinery in front of every route sends, by rule, and drops FastAPI's 422, which ftgate
never answers (request validation is a 400, see `gateway.error_handlers`):

- every operation: 400 (a malformed request, a NUL in the URL);
- /v1 and /admin: 401 (missing or wrong key), with the bearer key declared as its security;
- every operation that takes a body: 408 (the client stopped sending it) and 413 (too large);
- /v1: 429 (rate limits, budgets and quotas).
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

PROJECT_KEY = "ProjectKey"
ADMIN_KEY = "AdminKey"
SECURITY_SCHEMES = {
    PROJECT_KEY: {"type": "http", "scheme": "bearer", "description": "A project's API key."},
    ADMIN_KEY: {"type": "http", "scheme": "bearer", "description": "The operator's key (FTGATE_ADMIN_KEY)."},
}
SECURITY_BY_PREFIX = {"/v1/": PROJECT_KEY, "/admin/": ADMIN_KEY}
RATE_LIMITED_PREFIX = "/v1/"


class Error(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    """OpenAI's error envelope."""

    error: Error


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


REQUEST_ID = _header("The request's id (`req_…`); every response carries it.") | {"required": True}
REQUEST_ID_REF = {"$ref": "#/components/headers/RequestId"}
DESCRIPTIONS = {
    400: "The request is invalid (`invalid_request_error`; `param` names the culprit).",
    401: "The API key is missing or wrong.",
    403: "The key may not do this.",
    404: "No such object in the caller's project (also when another project owns it), or no such route.",
    408: "The client stopped sending the request body.",
    413: "The request body is larger than this operation accepts.",
    429: "A rate limit, budget or quota is reached (`x-should-retry: false` when waiting will not help).",
    502: "The upstream that serves the model failed.",
    503: "The server cannot take this request now; retry later.",
}
HEADERS: dict[int, dict[str, Any]] = {
    401: {"www-authenticate": _header('`Bearer realm="ftgate"`.')},
    429: {
        "retry-after": _header("Seconds to wait before retrying, when waiting helps."),
        "x-should-retry": _header("`false` when retrying will not help (a budget or quota is used up)."),
    },
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=` entries for the error statuses it answers itself."""
    return {
        status: {
            "model": ErrorResponse,
            "description": DESCRIPTIONS[status],
            "headers": dict(HEADERS.get(status, {})),
        }
        for status in statuses
    }


def install(app: FastAPI) -> None:
    """Serve and export `document(app)` (built once) as the app's OpenAPI document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(title=app.title, version=app.version, routes=app.routes)
    error_schema = _error_schema_ref(spec)
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            _declare_common_errors(path, operation, error_schema)
    components = spec["components"]
    components["securitySchemes"] = SECURITY_SCHEMES
    components["headers"] = {"RequestId": REQUEST_ID}
    for unused in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(unused, None)
    return spec


def _error_schema_ref(spec: dict[str, Any]) -> dict[str, str]:
    """The envelope's schema, added to the components if no route declared an error of its own."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    if ErrorResponse.__name__ not in schemas:
        model_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(model_schema.pop("$defs"))
        schemas[ErrorResponse.__name__] = model_schema
    return {"$ref": f"#/components/schemas/{ErrorResponse.__name__}"}


def _declare_common_errors(path: str, operation: dict[str, Any], error_schema: dict[str, str]) -> None:
    responses = operation["responses"]
    responses.pop("422", None)
    statuses = {400}
    scheme = next((name for prefix, name in SECURITY_BY_PREFIX.items() if path.startswith(prefix)), None)
    if scheme is not None:
        operation["security"] = [{scheme: []}]
        statuses.add(401)
    if "requestBody" in operation:
        statuses |= {408, 413}
    if path.startswith(RATE_LIMITED_PREFIX):
        statuses.add(429)
    for status in sorted(statuses):
        responses.setdefault(
            str(status),
            {
                "description": DESCRIPTIONS[status],
                "content": {"application/json": {"schema": error_schema}},
                "headers": dict(HEADERS.get(status, {})),
            },
        )
    for response in responses.values():
        response.setdefault("headers", {})["x-request-id"] = REQUEST_ID_REF
