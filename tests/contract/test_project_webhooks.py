"""Project webhooks through the admin API and a live server: jobs that finish are announced to the
project's endpoints as OpenAI's `fine_tuning.job.*` events, signed per Standard Webhooks, retried
until a 2xx, and logged per attempt."""

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import TINY_MODEL, tiny_model_server
from tests.support.admin import Admin
from tests.support.jobs import chat_lines, upload, wait_for_status
from tests.support.server import RunningServer
from tests.support.spec import assert_matches_schema
from tests.support.webhook_receiver import WebhookReceiver

ALL_EVENTS = ["fine_tuning.job.succeeded", "fine_tuning.job.failed", "fine_tuning.job.cancelled"]
ENDPOINT_KEYS = {"object", "id", "project_id", "url", "event_types", "created_at", "disabled_at", "secret"}
SPEC_SCHEMAS = {
    "fine_tuning.job.succeeded": "WebhookFineTuningJobSucceeded",
    "fine_tuning.job.failed": "WebhookFineTuningJobFailed",
    "fine_tuning.job.cancelled": "WebhookFineTuningJobCancelled",
}


@pytest.fixture(scope="module")
def hooks_server(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Iterator[RunningServer]:
    """A server whose retries come after 0.2 s instead of 5 s, 5 min, ..."""
    with tiny_model_server(
        tmp_path_factory.mktemp("ftgate-webhooks"),
        tiny_model,
        "sqlite",
        reconcile_interval_seconds=1.0,
        webhook_retry_seconds=[0.2, 0.2],
        webhook_tick_seconds=0.1,
    ) as running:
        yield running


@pytest.fixture
def admin(hooks_server: RunningServer) -> Iterator[Admin]:
    operator = Admin(hooks_server.base_url)
    yield operator
    operator.close()


@pytest.fixture
def project_id(admin: Admin) -> str:
    return admin.create_project(f"hooks-{secrets.token_hex(4)}")["id"]


def add_endpoint(admin: Admin, project_id: str, url: str, event_types: list[str] | None = None) -> dict:
    body = {"url": url} if event_types is None else {"url": url, "event_types": event_types}
    return admin.call("POST", f"/projects/{project_id}/webhooks", json=body)


def assert_refused(response: httpx.Response, status: int, param: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert_matches_schema(response.json(), "ErrorResponse")
    assert response.json()["error"]["param"] == param


def test_endpoints_are_created_listed_and_disabled(admin: Admin, project_id: str):
    created = add_endpoint(admin, project_id, "https://hooks.example.com/ftgate")
    assert set(created) == ENDPOINT_KEYS
    assert created["object"] == "admin.webhook_endpoint" and created["id"].startswith("whep_")
    assert (created["project_id"], created["event_types"], created["disabled_at"]) == (
        project_id,
        ALL_EVENTS,
        None,
    )
    assert created["secret"].startswith("whsec_")
    only_failed = add_endpoint(admin, project_id, "http://10.0.0.5:8080/h", ["fine_tuning.job.failed"])
    assert only_failed["event_types"] == ["fine_tuning.job.failed"]

    listed = admin.call("GET", f"/projects/{project_id}/webhooks")
    assert (listed["object"], listed["has_more"]) == ("list", False)
    assert [e["id"] for e in listed["data"]] == [only_failed["id"], created["id"]]
    assert all(e["secret"] is None for e in listed["data"])  # shown once, at creation

    disabled = admin.call("DELETE", f"/webhooks/{created['id']}")
    assert disabled["disabled_at"] is not None and disabled["secret"] is None
    assert admin.call("DELETE", f"/webhooks/{created['id']}") == disabled
    actions = [(entry["action"], entry["object_id"]) for entry in admin.audit(project_id=project_id)]
    assert sorted(action for action in actions if action[0].startswith("webhook.")) == sorted(
        [
            ("webhook.created", created["id"]),
            ("webhook.created", only_failed["id"]),
            ("webhook.disabled", created["id"]),
        ]
    )


def test_bad_endpoints_and_unknown_ids_are_refused(admin: Admin, project_id: str):
    http, hooks = admin.http, f"/projects/{project_id}/webhooks"
    for url in ("ftp://example.com/hook", "example.com/hook", "http:///hook", "https://exa mple.com"):
        assert_refused(http.post(hooks, json={"url": url}), 400, "url")
    for event_types in ([], ["fine_tuning.job.created"], "fine_tuning.job.failed"):
        body = {"url": "https://example.com", "event_types": event_types}
        assert_refused(http.post(hooks, json=body), 400, "event_types")
    assert_refused(http.post(hooks, json={"url": "https://example.com", "secret": "mine"}), 400)
    assert_refused(
        http.post("/projects/proj_nope/webhooks", json={"url": "https://e.com"}), 404, "project_id"
    )
    assert_refused(http.get("/projects/proj_nope/webhooks"), 404, "project_id")
    assert_refused(http.delete("/webhooks/whep_nope"), 404, "endpoint_id")
    assert_refused(http.get("/webhooks/whep_nope/deliveries"), 404, "endpoint_id")
    assert_refused(httpx.post(f"{http.base_url}{hooks.lstrip('/')}", json={"url": "https://e.com"}), 401)
    assert admin.call("GET", hooks)["data"] == []


def test_finished_jobs_are_announced_to_the_projects_webhooks(
    admin: Admin, project_id: str, hooks_server: RunningServer
):
    key = admin.create_key(project_id)["value"]
    client = openai.OpenAI(base_url=f"{hooks_server.base_url}/v1", api_key=key, max_retries=0)
    with WebhookReceiver() as receiver, WebhookReceiver(answers=[500, 500]) as flaky:
        every = add_endpoint(admin, project_id, receiver.url)
        receiver.secret = every["secret"]
        succeeded_only = add_endpoint(admin, project_id, flaky.url, ["fine_tuning.job.succeeded"])
        flaky.secret = succeeded_only["secret"]

        elle = upload(client, "elle-limericks.jsonl")
        one_epoch = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 1}}}
        jobs = {
            "fine_tuning.job.succeeded": client.fine_tuning.jobs.create(
                model=TINY_MODEL, training_file=elle, method=one_epoch
            ).id,
            "fine_tuning.job.failed": client.fine_tuning.jobs.create(
                model=TINY_MODEL, training_file=upload(client, "three.jsonl", chat_lines(3))
            ).id,
            "fine_tuning.job.cancelled": client.fine_tuning.jobs.create(
                model=TINY_MODEL, training_file=elle
            ).id,
        }
        client.fine_tuning.jobs.cancel(jobs["fine_tuning.job.cancelled"])
        for job_id in jobs.values():
            wait_for_status(client, job_id, {"succeeded", "failed", "cancelled"}, timeout=120)
        receiver.wait_for(lambda r: len(r.received) >= 3)
        flaky.wait_for(lambda r: len(r.received) >= 3)

    assert all(request.error is None for request in receiver.received + flaky.received)
    events = {event["type"]: event for event in receiver.verified_payloads()}
    assert len(receiver.received) == 3 and set(events) == set(jobs)
    for event_type, event in events.items():
        assert_matches_schema(event, SPEC_SCHEMAS[event_type])
        assert event["object"] == "event" and event["data"] == {"id": jobs[event_type]}
    assert client.fine_tuning.jobs.retrieve(jobs["fine_tuning.job.succeeded"]).status == "succeeded"

    # The flaky receiver saw the succeeded event three times under one webhook-id, and the
    # delivery log holds exactly one successful attempt after two failed ones.
    assert [request.answered for request in flaky.received] == [500, 500, 200]
    assert [request.payload for request in flaky.received] == [events["fine_tuning.job.succeeded"]] * 3
    [webhook_id] = {request.headers["webhook-id"] for request in flaky.received}
    log = admin.call("GET", f"/webhooks/{succeeded_only['id']}/deliveries")
    assert (log["object"], log["has_more"]) == ("list", False)
    [delivery] = log["data"]
    assert delivery["object"] == "admin.webhook_delivery" and delivery["id"] == webhook_id
    assert (delivery["status"], delivery["event_type"]) == ("delivered", "fine_tuning.job.succeeded")
    assert delivery["payload"] == events["fine_tuning.job.succeeded"]
    attempts = delivery["attempts"]
    assert [(a["succeeded"], a["status_code"]) for a in attempts] == [(False, 500), (False, 500), (True, 200)]
    assert all(a["object"] == "admin.webhook_attempt" and a["duration_ms"] >= 0 for a in attempts)
    assert delivery["delivered_at"] == attempts[-1]["attempted_at"]

    # Newest first, one page at a time.
    deliveries = f"/webhooks/{every['id']}/deliveries"
    first = admin.call("GET", deliveries, params={"limit": 2})
    rest = admin.call("GET", deliveries, params={"limit": 2, "after": first["data"][-1]["id"]})
    assert (len(first["data"]), first["has_more"], len(rest["data"]), rest["has_more"]) == (2, True, 1, False)
    logged = first["data"] + rest["data"]
    assert {d["id"] for d in logged} == {request.headers["webhook-id"] for request in receiver.received}
    assert [d["created_at"] for d in logged] == sorted((d["created_at"] for d in logged), reverse=True)
    assert all(d["status"] == "delivered" and len(d["attempts"]) == 1 for d in logged)
