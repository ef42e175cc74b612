"""`ftgate serve --workers 2` with PROMETHEUS_MULTIPROC_DIR and JSON logs: every scrape, whichever
worker answers it, adds up the values of every process writing into the folder (another process's
too), an earlier run's values are gone, and each access line is a JSON object carrying the id
its response was given."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.metrics import Scrape, scrape
from tests.support.server import free_port

REPO = Path(__file__).resolve().parents[2]
REQUESTS = 20


def count_upstream_requests(multiproc_dir: Path, upstream: str, times: int) -> None:
    """Another process counts `times` requests to `upstream` into the folder, and exits."""
    code = (
        "from gateway.observability.metrics import UPSTREAM_REQUESTS\n"
        f"UPSTREAM_REQUESTS.labels({upstream!r}, '200').inc({times})\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir), "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """The server's base URL, its metrics folder (with an earlier run's values in it before it
    started) and the file its log goes to."""
    multiproc_dir = tmp_path / "metrics"
    multiproc_dir.mkdir()
    count_upstream_requests(multiproc_dir, "earlier-run", 5)
    port = free_port()
    log_path = tmp_path / "server.log"
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("FTGATE_")},
        "FTGATE_DATA_DIR": str(tmp_path / "data"),
        "FTGATE_LOG_FORMAT": "json",
        "FTGATE_VALIDATION_PROCESSES": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
        "PYTHONPATH": str(REPO),
    }
    command = [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port), "--workers", "2"]
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, cwd=REPO, env=env, stderr=log, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not _answers(base_url):
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        yield base_url, multiproc_dir, log_path
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_every_scrape_adds_up_every_process(served: tuple[str, Path, Path]):
    base_url, multiproc_dir, log_path = served
    count_upstream_requests(multiproc_dir, "other-process", 3)
    with httpx.Client(base_url=base_url) as http:
        request_ids = {http.get("/healthz").headers["x-request-id"] for _ in range(REQUESTS)}
    healthz = {"method": "GET", "route": "/healthz", "status": "200"}
    scrapes: list[Scrape] = [scrape(base_url) for _ in range(6)]
    for scraped in scrapes:
        # At least REQUESTS: the fixture's wait for the server asked /healthz too.
        assert scraped.value("ftgate_http_requests_total", **healthz) >= REQUESTS
        assert scraped.value("ftgate_upstream_requests_total", upstream="other-process", outcome="200") == 3
        assert "earlier-run" not in scraped.text
    assert len({scraped.value("ftgate_http_requests_total", **healthz) for scraped in scrapes}) == 1

    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "uvicorn.access" and "/healthz" in line["message"]]
    assert request_ids <= {line["request_id"] for line in access}
    assert all({"asctime", "level", "message"} <= line.keys() for line in lines)
