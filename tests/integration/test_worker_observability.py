"""A Celery worker with FTGATE_LOG_FORMAT=json and FTGATE_WORKER_METRICS_PORT: a task's log lines
are JSON objects naming the task and the request whose transaction sent it, and the worker's
main process serves what its pool's processes count (the task it ran)."""

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway import migrations
from gateway.observability import logs
from gateway.settings import Settings
from gateway.task_names import ADVANCE_JOB
from tests.support.celery_worker import Worker
from tests.support.metrics import parse
from tests.support.redis_isolation import REDIS_KEY_PREFIX, REDIS_URL
from tests.support.server import free_port

pytestmark = pytest.mark.redis


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(
        data_dir=tmp_path / "data",
        queue="celery",
        redis_url=REDIS_URL,
        redis_key_prefix=REDIS_KEY_PREFIX,
        celery_queue=f"ftgate-test-{secrets.token_hex(4)}",
        celery_training_queue=f"ftgate-test-training-{secrets.token_hex(4)}",
    )
    settings.data_dir.mkdir()
    migrations.upgrade(settings.database_url)
    return settings


@pytest.fixture
def worker(settings: Settings, tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """The worker's log file and metrics port."""
    port, log_path = free_port(), tmp_path / "worker.log"
    (tmp_path / "metrics").mkdir()
    stale = tmp_path / "metrics" / "counter_999999.db"
    stale.write_bytes(b"")  # an earlier run's file: the worker empties the folder as it starts
    env = {
        "FTGATE_LOG_FORMAT": "json",
        "FTGATE_WORKER_METRICS_PORT": str(port),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    with log_path.open("wb") as log:
        started = Worker(settings, env, with_beat=False, trains=False, log_level="info", log=log)
    try:
        yield log_path, port
    finally:
        started.kill()
    assert not stale.exists()


def test_task_logs_carry_the_task_and_the_request_that_sent_it(settings: Settings, worker: tuple[Path, int]):
    from workers.celery_app import dispatcher, make_celery

    log_path, port = worker
    celery = make_celery(settings)
    sent = {"ftjob-first": "req_first_request", "ftjob-second": "req_second_request"}
    try:
        for job_id, request_id in sent.items():
            token = logs.request_id.set(request_id)
            dispatcher(celery)(ADVANCE_JOB, job_id)
            logs.request_id.reset(token)
    finally:
        celery.close()

    deadline = time.monotonic() + 60
    lines: dict[str, dict] = {}
    while len(lines) < len(sent):
        assert time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.2)
        lines = {
            job_id: found[0] for job_id in sent if (found := _task_lines(log_path, f"{job_id} is unknown"))
        }
    for job_id, request_id in sent.items():
        line = lines[job_id]
        assert line["request_id"] == request_id  # each task its own, not the worker's first
        assert line["task_name"] == ADVANCE_JOB and line["task_id"]
        assert line["level"] == "INFO" and line["logger"] == "workers.tasks"
    assert lines["ftjob-first"]["task_id"] != lines["ftjob-second"]["task_id"]

    scraped = parse(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
    assert scraped.value("ftgate_celery_tasks_total", task=ADVANCE_JOB, state="SUCCESS") == 2


def _task_lines(log_path: Path, marker: str) -> list[dict]:
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if marker in line["message"]]
