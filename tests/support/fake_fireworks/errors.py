"""google.rpc.Status errors, as Fireworks answers them."""

from tests.support.fake_upstream.server import Response

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
}


class RpcError(Exception):
    """An error answered as `{"error": {"code", "message", "status"}}`."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def response(self) -> Response:
        status = STATUS_NAMES.get(self.code, "UNKNOWN")
        return Response(self.code, {"error": {"code": self.code, "message": self.message, "status": status}})
