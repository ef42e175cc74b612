"""What the admin pages read besides projects and keys: the audit log filtered by actor, action
and time; a failed webhook delivery sent again; and what each project and key holds against its
limits now."""

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import tiny_model_server
from tests.support.admin import Admin
from tests.support.jobs import upload
from tests.support.server import RunningServer
from tests.support.spec import assert_matches_schema
from tests.support.webhook_receiver import WebhookReceiver

# A base model whose upstream is down (tests/support/parked.py): its jobs wait in `queued`.
PARKED_MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def operated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tiny_model: Path
) -> Iterator[RunningServer]:
    """A server that gives a delivery up after one retry 0.2 s later, on each database."""
    with tiny_model_server(
        tmp_path_factory.mktemp(f"ftgate-admin-pages-{request.param}"),
        tiny_model,
        request.param,
        webhook_retry_seconds=[0.2],
        webhook_tick_seconds=0.1,
    ) as running:
        yield running


@pytest.fixture
def admin(operated: RunningServer) -> Iterator[Admin]:
    operator = Admin(operated.base_url)
    yield operator
    operator.close()


def new_project(admin: Admin) -> str:
    return admin.create_project(f"pages-{secrets.token_hex(4)}")["id"]


def assert_refused(response: httpx.Response, status: int, param: str | None) -> None:
    assert response.status_code == status, response.text
    assert_matches_schema(response.json(), "ErrorResponse")
    assert response.json()["error"]["param"] == param


def test_the_audit_log_is_filtered_by_actor_action_and_time(admin: Admin, operated: RunningServer):
    project_id = new_project(admin)
    key = admin.create_key(project_id, "ci")
    admin.set_key_limits(key["id"], concurrent_jobs=2)
    client = openai.OpenAI(base_url=f"{operated.base_url}/v1", api_key=key["value"], max_retries=0)
    job = client.fine_tuning.jobs.create(
        model=PARKED_MODEL, training_file=upload(client, "elle-limericks.jsonl")
    )
    admin.revoke(key["id"])

    by_action = admin.audit(project_id=project_id, action="key.limits_set")
    assert [(e["actor"], e["object_id"]) for e in by_action] == [("admin", key["id"])]
    by_key = admin.audit(project_id=project_id, actor=key["id"])
    assert [(e["action"], e["object_id"]) for e in by_key] == [("job.created", job.id)]
    by_admin = admin.audit(project_id=project_id, actor="admin")
    assert [e["action"] for e in reversed(by_admin)] == [
        "project.created",
        "key.created",
        "key.limits_set",
        "key.revoked",
    ]
    assert (
        admin.audit(actor="admin", action="key.revoked", project_id=project_id)[0]["object_id"] == key["id"]
    )

    everything = admin.audit(project_id=project_id)
    first, last = everything[-1]["created_at"], everything[0]["created_at"]
    assert len(admin.audit(project_id=project_id, start_time=first, end_time=last + 1)) == len(everything)
    assert admin.audit(project_id=project_id, start_time=last + 1) == []
    assert admin.audit(project_id=project_id, end_time=first) == []
    # Bounds beyond what the column holds are answered, never a server error.
    assert admin.audit(project_id=project_id, start_time=2**62) == []
    assert len(admin.audit(project_id=project_id, start_time=-(2**62), end_time=2**62)) == len(everything)
    assert_refused(admin.http.get("/audit_log", params={"start_time": "soon"}), 400, "start_time")


def test_a_failed_delivery_is_retried_under_its_webhook_id(admin: Admin, operated: RunningServer):
    project_id = new_project(admin)
    key = admin.create_key(project_id)["value"]
    client = openai.OpenAI(base_url=f"{operated.base_url}/v1", api_key=key, max_retries=0)
    with WebhookReceiver(answers=[500, 503]) as receiver:
        endpoint = admin.call("POST", f"/projects/{project_id}/webhooks", json={"url": receiver.url})
        receiver.secret = endpoint["secret"]
        job = client.fine_tuning.jobs.create(
            model=PARKED_MODEL, training_file=upload(client, "elle-limericks.jsonl")
        )
        client.fine_tuning.jobs.cancel(job.id)
        log = f"/webhooks/{endpoint['id']}/deliveries"
        deadline = time.monotonic() + 30
        while (delivery := admin.call("GET", log)["data"][0])["status"] != "failed":
            assert time.monotonic() < deadline, delivery
            time.sleep(0.05)
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 503]

        retried = admin.call("POST", f"/webhook_deliveries/{delivery['id']}/retry")
        assert (retried["id"], retried["status"], len(retried["attempts"])) == (delivery["id"], "pending", 2)
        receiver.wait_for(lambda r: len(r.received) == 3)
        while (delivery := admin.call("GET", log)["data"][0])["status"] == "pending":
            assert time.monotonic() < deadline, delivery
            time.sleep(0.05)

    assert [request.answered for request in receiver.received] == [500, 503, 200]
    assert {request.headers["webhook-id"] for request in receiver.received} == {delivery["id"]}
    assert delivery["status"] == "delivered"
    assert [a["succeeded"] for a in delivery["attempts"]] == [False, False, True]
    [entry] = admin.audit(project_id=project_id, action="webhook.delivery_retried")
    assert (entry["actor"], entry["object_id"]) == ("admin", delivery["id"])

    retry = f"/webhook_deliveries/{delivery['id']}/retry"
    assert_refused(admin.http.post(retry), 400, "delivery_id")
    assert_refused(admin.http.post("/webhook_deliveries/wh_nope/retry"), 404, "delivery_id")
    assert_refused(httpx.post(f"{admin.http.base_url}{retry.lstrip('/')}"), 401, None)


def test_projects_and_keys_show_what_they_hold_against_their_limits(admin: Admin, operated: RunningServer):
    project_id = new_project(admin)
    fresh = admin.call("GET", f"/projects/{project_id}")["spent"]
    assert fresh == {
        "period_start": fresh["period_start"],
        "spend_usd": 0.0,
        "trained_tokens": 0,
        "concurrent_jobs": 0,
        "stored_bytes": 0,
        "files": 0,
    }
    admin.set_project_limits(project_id, period="day", spend_usd=100.0)
    busy, idle = admin.create_key(project_id, "busy"), admin.create_key(project_id, "idle")
    client = openai.OpenAI(base_url=f"{operated.base_url}/v1", api_key=busy["value"], max_retries=0)
    training_file = upload(client, "elle-limericks.jsonl")
    client.fine_tuning.jobs.create(model=PARKED_MODEL, training_file=training_file)

    project = admin.call("GET", f"/projects/{project_id}")
    spent = project["spent"]
    assert spent["period_start"] == int(time.time()) // 86400 * 86400
    assert spent["concurrent_jobs"] == 1 and spent["files"] == 1 and spent["stored_bytes"] > 0
    assert spent["spend_usd"] > 0 and spent["trained_tokens"] > 0
    [listed] = [p for p in admin.call("GET", "/projects")["data"] if p["id"] == project_id]
    assert listed["spent"] == spent
    keys = {key["name"]: key["spent"] for key in admin.call("GET", f"/projects/{project_id}/keys")["data"]}
    assert keys["busy"] == {**spent, "period_start": keys["busy"]["period_start"]}
    assert keys["idle"]["concurrent_jobs"] == 0 and keys["idle"]["files"] == 0
    assert admin.call("GET", f"/keys/{idle['id']}")["spent"] == keys["idle"]
