"""A real ftgate server on loopback, in a thread, for tests that drive it like a client would."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from gateway import migrations
from gateway.cli import create_project_key
from gateway.main import build_app
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.support.blocking import off_loop, wait_for


@dataclass(frozen=True)
class RunningServer:
    base_url: str
    settings: Settings
    runtime: Runtime

    def create_key(self, project_name: str) -> str:
        return wait_for(create_project_key(self.settings, project_name))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(settings: Settings) -> Iterator[RunningServer]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    off_loop(migrations.upgrade, settings.database_url)
    port = free_port()
    app = build_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("ftgate test server did not start")
        time.sleep(0.02)
    try:
        yield RunningServer(base_url=f"http://127.0.0.1:{port}", settings=settings, runtime=app.state.runtime)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
