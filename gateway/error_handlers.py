"""Every error leaves as OpenAI's envelope; request validation is a 400 that names the param."""

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.routing import Match

from gateway.errors import GatewayError, InvalidRequest, MethodNotAllowed, NotFound, ServiceUnavailable
from gateway.storage.base import StoreUnavailable
from gateway.text import encodable

log = logging.getLogger(__name__)

UNION_MEMBER = re.compile(r"^(int|float|str|bool|list|dict|none)$|[\[\]'\-]")
STATIC_FILE_METHODS = {"GET", "HEAD"}
INVALID_JSON_MESSAGE = (
    "We could not parse the JSON body of your request. The API expects a JSON payload, but what "
    "was sent was not valid JSON."
)


def render(error: GatewayError) -> JSONResponse:
    """Messages may quote the request (a name, a key): a lone surrogate in it is sent escaped."""
    body = {
        "error": {
            name: encodable(value) if isinstance(value, str) else value
            for name, value in error.body()["error"].items()
        }
    }
    return JSONResponse(body, status_code=error.status_code, headers=error.headers)


def param_of(loc: tuple[Any, ...]) -> str | None:
    """`('body', 'method', 'supervised', 'hyperparameters', 'n_epochs', 'int')` →
    `method.supervised.hyperparameters.n_epochs`; union-member tags are dropped."""
    names: list[str] = []
    for part in loc[1:]:
        if isinstance(part, int):
            names[-1:] = [f"{names[-1]}[{part}]"] if names else [f"[{part}]"]
        elif UNION_MEMBER.search(str(part)):
            break
        else:
            names.append(str(part))
    return ".".join(names) or None


def _param_of(error: Any) -> str | None:
    """The field's name, and the place inside it that a validator named in `ctx.at`
    (see gateway.text)."""
    param = param_of(tuple(error["loc"]))
    at = (error.get("ctx") or {}).get("at") or ""
    if not at:
        return param
    if param is None:
        return at
    return f"{param}{at}" if at.startswith("[") else f"{param}.{at}"


def _is_union_alternative(error: Any) -> bool:
    """A `"auto"` literal tried as one member of a union is noise beside the real complaint."""
    return error["type"] == "literal_error" and bool(UNION_MEMBER.search(str(error["loc"][-1])))


def _unrecognized(errors: list[Any]) -> InvalidRequest | None:
    """Top-level keys a body model forbids, in OpenAI's words (its param and code are null)."""
    names = [
        str(error["loc"][1])
        for error in errors
        if error["type"] == "extra_forbidden" and len(error["loc"]) == 2 and error["loc"][0] == "body"
    ]
    if not names:
        return None
    if len(names) == 1:
        return InvalidRequest(f"Unrecognized request argument supplied: {names[0]}")
    return InvalidRequest(f"Unrecognized request arguments supplied: {', '.join(names)}")


def from_validation_error(exc: RequestValidationError) -> InvalidRequest:
    errors = list(exc.errors())
    if any(error["type"] == "json_invalid" for error in errors):
        return InvalidRequest(INVALID_JSON_MESSAGE)
    unrecognized = _unrecognized(errors)
    if unrecognized is not None:
        return unrecognized
    first = next((e for e in errors if not _is_union_alternative(e)), errors[0])
    param = _param_of(first)
    if first["type"] == "missing" and param is not None:
        return InvalidRequest(
            f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
        )
    if param is None:
        return InvalidRequest(f"Invalid request body: {first['msg']}.")
    return InvalidRequest(f"Invalid value for '{param}': {first['msg']}.", param=param, code="invalid_value")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path: Starlette's own 405 names only the first
    route that matched it, and `/v1/files` is two routes (GET and POST). A 405 that no route
    explains comes from the dashboard's static files, which serve GET and HEAD."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if route.methods and route.matches(dict(request.scope))[0] is not Match.NONE:
            methods |= route.methods
    return sorted(methods or STATIC_FILE_METHODS)


def install(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _gateway_error(_: Request, exc: GatewayError) -> JSONResponse:
        return render(exc)

    @app.exception_handler(StoreUnavailable)
    async def _store_unavailable(_: Request, exc: StoreUnavailable) -> JSONResponse:
        log.warning("%s", exc)
        return render(
            ServiceUnavailable(
                "The storage of files and models cannot be reached right now; please try again later.",
                code="storage_unavailable",
            )
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return render(from_validation_error(exc))

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        where = f"({request.method} {request.url.path})"
        if exc.status_code == 405:
            allow = {"allow": ", ".join(allowed_methods(request))}
            return render(MethodNotAllowed(f"Method not allowed {where}", headers=allow))
        if exc.status_code == 404:
            return render(NotFound(f"Invalid URL {where}"))
        return render(InvalidRequest(str(exc.detail)))
