"""/readyz names the dependency that cannot be reached (a closed port, a blob folder that is a
file), /metrics may ask for a token, and reads the depth of Celery's queues from Redis; the
example Grafana dashboard asks for no metric that /metrics lacks."""

import asyncio
import json
import re
import secrets
from pathlib import Path

import httpx
import pytest
from celery import Celery

from gateway import migrations
from gateway.main import build_app
from gateway.settings import Settings
from tests.support.metrics import parse
from tests.support.redis_isolation import REDIS_KEY_PREFIX, REDIS_URL
from tests.support.server import free_port

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "ftgate-dashboard.json"

pytestmark = pytest.mark.redis


async def get(settings: Settings, path: str, **headers: str) -> httpx.Response:
    """The app's answer to a GET of `path`, without starting its workers (nothing needs them)."""
    app = build_app(settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ftgate") as http:
            return await http.get(path, headers=headers)
    finally:
        await app.state.runtime.close()


def closed_port() -> int:
    return free_port()  # bound and released: nothing listens there


async def test_ready_with_redis_when_it_is_used(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, rate_limiter="redis", redis_url=REDIS_URL)
    ready = await get(settings, "/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "blob_store": "ok"}


async def test_unreachable_redis_is_named(tmp_path: Path):
    settings = Settings(
        data_dir=tmp_path, rate_limiter="redis", redis_url=f"redis://127.0.0.1:{closed_port()}/0"
    )
    ready = await get(settings, "/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["checks"]["database"] == "ok" and body["checks"]["blob_store"] == "ok"
    assert body["checks"]["redis"].startswith("unreachable")
    assert body["error"]["code"] == "not_ready" and "redis" in body["error"]["message"]
    assert "database" not in body["error"]["message"]


@pytest.mark.postgres
async def test_unreachable_database_is_named(tmp_path: Path):
    url = f"postgresql://ftgate@127.0.0.1:{closed_port()}/ftgate"
    ready = await get(Settings(data_dir=tmp_path, database_url=url), "/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"].startswith("unreachable")
    assert ready.json()["checks"]["blob_store"] == "ok"


async def test_a_blob_store_that_cannot_be_written_is_named(tmp_path: Path):
    (tmp_path / "blobs").write_text("a file where the folder should be")
    ready = await get(Settings(data_dir=tmp_path, blob_dir=tmp_path / "blobs"), "/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["blob_store"].startswith("unreachable")


async def test_metrics_ask_for_the_token_when_one_is_set(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, metrics_token="metrics-secret")
    missing = await get(settings, "/metrics")
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "invalid_request_error"
    wrong = await get(settings, "/metrics", authorization="Bearer not-it")
    assert wrong.status_code == 401
    right = await get(settings, "/metrics", authorization="Bearer metrics-secret")
    assert right.status_code == 200 and "ftgate_http_requests_total" in right.text


async def test_metrics_off_serve_no_metrics(tmp_path: Path):
    assert (await get(Settings(data_dir=tmp_path, metrics_enabled=False), "/metrics")).status_code == 404


async def test_queue_depth_is_read_from_redis(tmp_path: Path):
    settings = Settings(
        data_dir=tmp_path,
        queue="celery",
        redis_url=REDIS_URL,
        redis_key_prefix=REDIS_KEY_PREFIX,
        celery_queue=f"ftgate-test-{secrets.token_hex(4)}",
        celery_training_queue=f"ftgate-test-training-{secrets.token_hex(4)}",
    )
    await asyncio.to_thread(migrations.upgrade, settings.database_url)  # it runs its own event loop
    sender = Celery("ftgate-test", broker=settings.redis_url)
    sender.conf.broker_transport_options = {"global_keyprefix": settings.redis_key_prefix}
    try:
        for _ in range(3):
            sender.send_task("nothing.runs.this", args=["x"], queue=settings.celery_queue)
        sender.send_task("nothing.runs.this", args=["x"], queue=settings.celery_queue, priority=9)
        sender.send_task("nothing.runs.this", args=["x"], queue=settings.celery_training_queue)
        scraped = parse((await get(settings, "/metrics")).text)
    finally:
        with sender.connection_for_write() as connection:
            for queue in (settings.celery_queue, settings.celery_training_queue):
                connection.default_channel.queue_purge(queue)
        sender.close()
    assert scraped.value("ftgate_celery_queue_depth", queue=settings.celery_queue) == 4
    assert scraped.value("ftgate_celery_queue_depth", queue=settings.celery_training_queue) == 1
    assert scraped.value("ftgate_state_readable", source="redis") == 1
    assert scraped.value("ftgate_state_readable", source="database") == 1
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    asked = {
        re.sub(r"_(total|bucket|count|sum)$", "", name)
        for e in expressions
        for name in re.findall(r"ftgate_\w+", e)
    }
    assert asked and asked <= scraped.families, sorted(asked - scraped.families)
