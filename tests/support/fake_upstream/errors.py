"""OpenAI's error envelope."""

from .server import Response


class ApiError(Exception):
    """An error answered as `{"error": {"message", "type", "param", "code"}}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = {"message": message, "type": type, "param": param, "code": code}

    def response(self) -> Response:
        return Response(self.status, {"error": self.error})


def job_not_found(job_id: str) -> ApiError:
    return ApiError(
        404, f"Could not find fine tune: {job_id}", param="fine_tuning_job_id", code="fine_tune_not_found"
    )
