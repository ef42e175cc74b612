"""One error tree, rendered as OpenAI's envelope `{"error": {message, type, param, code}}`.

Deterministic refusals are 4xx other than 409: the official SDK retries 409, 429 and 5xx.
"""

from typing import ClassVar


class GatewayError(Exception):
    status_code: ClassVar[int] = 500
    type: ClassVar[str] = "server_error"
    default_code: ClassVar[str | None] = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code
        self.headers = headers or {}

    def body(self) -> dict[str, dict[str, str | None]]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequest(GatewayError):
    status_code = 400
    type = "invalid_request_error"


class AuthenticationFailed(GatewayError):
    status_code = 401
    type = "invalid_request_error"


class PermissionDenied(GatewayError):
    status_code = 403
    type = "invalid_request_error"


class NotFound(GatewayError):
    status_code = 404
    type = "invalid_request_error"


class MethodNotAllowed(GatewayError):
    status_code = 405
    type = "invalid_request_error"


class RequestTimeout(GatewayError):
    status_code = 408
    type = "invalid_request_error"
    default_code = "request_timeout"


class PayloadTooLarge(GatewayError):
    status_code = 413
    type = "invalid_request_error"
    default_code = "file_too_large"


class ServerError(GatewayError):
    status_code = 500
    type = "server_error"


class ServiceUnavailable(ServerError):
    """A part the request needs (the object store, a serving engine) cannot be reached now."""

    status_code = 503


class RateLimited(GatewayError):
    status_code = 429
    type = "requests"
    default_code = "rate_limit_exceeded"


class TokensRateLimited(RateLimited):
    type = "tokens"


class InsufficientQuota(GatewayError):
    """A budget or limit the operator set is used up. Retrying does not help, so the SDK is told
    not to (`x-should-retry: false`)."""

    status_code = 429
    type = "insufficient_quota"
    default_code = "insufficient_quota"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message, param=param, headers={"x-should-retry": "false"})


class BadGateway(GatewayError):
    status_code = 502
    type = "server_error"
