"""A thin HTTP client for the commands: JSON calls, a streamed multipart upload and a server-sent
event stream, every failure turned into one ClientError the user can read."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import httpx
from httpx_sse import connect_sse


class ClientError(Exception):
    """What went wrong, in one line (the server's own message where it sent one)."""


class Gateway:
    def __init__(self, base_url: str, api_key: str, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(timeout, connect=10.0),
        )

    def __enter__(self) -> "Gateway":
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def get(self, path: str, **params: Any) -> Any:
        query = {name: value for name, value in params.items() if value is not None}
        return self._json(self._send("GET", path, params=query))

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._json(self._send("POST", path, json=body))

    def upload(self, content: IO[bytes], filename: str, purpose: str) -> Any:
        """POST /files; httpx reads `content` in 64 KiB chunks as the body goes out."""
        response = self._send(
            "POST",
            "/files",
            data={"purpose": purpose},
            files={"file": (filename, content, "application/octet-stream")},
            timeout=httpx.Timeout(None, connect=10.0),
        )
        return self._json(response)

    @contextmanager
    def stream(self, path: str, body: dict[str, Any]) -> Iterator[Iterator[dict[str, Any]]]:
        """The JSON payloads of a server-sent event stream, up to `[DONE]`."""
        try:
            with connect_sse(self._http, "POST", path, json=body) as source:
                if source.response.is_error:
                    source.response.read()
                    raise ClientError(error_message(source.response))
                yield _payloads(source.iter_sse())
        except httpx.HTTPError as exc:
            raise ClientError(self._unreachable(exc)) from exc

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ClientError(self._unreachable(exc)) from exc
        if response.is_error:
            raise ClientError(error_message(response))
        return response

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise ClientError(f"{self.base_url} answered {response.status_code} without JSON") from exc

    def _unreachable(self, exc: httpx.HTTPError) -> str:
        if isinstance(exc, httpx.ConnectError):
            where = "--base-url, OPENAI_BASE_URL"
            return f"cannot connect to {self.base_url} ({exc}); is ftgate serving there? ({where})"
        if isinstance(exc, httpx.TimeoutException):
            return f"{self.base_url} did not answer in time"
        return f"the request to {self.base_url} failed: {exc}"


def error_message(response: httpx.Response) -> str:
    """OpenAI's error envelope as one line: `message (status, code)`."""
    try:
        error = response.json()["error"]
        message, code = error["message"], error.get("code") or error.get("type")
    except (ValueError, KeyError, TypeError):
        message, code = response.text.strip()[:200] or response.reason_phrase, None
    detail = f"{response.status_code}, {code}" if code else str(response.status_code)
    return f"{message} ({detail})"


def _payloads(events: Iterator[Any]) -> Iterator[dict[str, Any]]:
    for event in events:
        if event.data == "[DONE]":
            return
        payload = json.loads(event.data)
        if "error" in payload:
            raise ClientError(f"the stream broke off: {payload['error'].get('message', payload['error'])}")
        yield payload
