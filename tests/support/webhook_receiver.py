"""A webhook receiver on a real loopback port, served from a thread: it checks every request with
the `standardwebhooks` library, records it, and answers with the status codes it is given."""

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

UNVERIFIED = 400


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    payload: Any  # the verified JSON payload; None when verification failed
    error: str | None
    answered: int


class WebhookReceiver:
    """`answers` are given to the first requests in turn, `then` to every later one. Set `secret`
    (ftgate shows it when the endpoint is created) before anything is delivered."""

    def __init__(self, answers: Iterable[int] = (), then: int = 200, delay_seconds: float = 0.0) -> None:
        self.secret: str | None = None
        self.received: list[Received] = []
        self._answers = list(answers)
        self._then = then
        self._delay_seconds = delay_seconds
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def verified_payloads(self) -> list[Any]:
        return [request.payload for request in self.received if request.error is None]

    def wait_for(self, condition: Callable[["WebhookReceiver"], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver: condition not met after {timeout}s; got {self.received}")
            time.sleep(0.05)

    def _take(self, path: str, headers: dict[str, str], body: bytes) -> int:
        try:
            if self.secret is None:
                raise WebhookVerificationError("the receiver has no secret yet")
            payload, error = Webhook(self.secret).verify(body, headers), None
        except (WebhookVerificationError, json.JSONDecodeError) as failure:
            payload, error = None, f"{type(failure).__name__}: {failure}"
        time.sleep(self._delay_seconds)
        with self._lock:
            answer = self._answers.pop(0) if self._answers else self._then
            answer = UNVERIFIED if error is not None else answer
            self.received.append(Received(path, headers, body, payload, error, answer))
        return answer

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                answer = receiver._take(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(answer)
                if 300 <= answer < 400:
                    self.send_header("location", self.path + "/moved")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        return Handler
