"""Budgets and limits: reservations at job creation that racing members cannot both win,
settlement on real trained tokens, release on cancel, per-key isolation, revoked keys, allowed
models and file quotas, on SQLite and PostgreSQL."""

import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import TINY_MODEL, sdk_client, tiny_model_server
from tests.support.admin import ADMIN_KEY, Admin
from tests.support.evals import qa_eval, wait_for_run
from tests.support.jobs import DATA, chat_lines, upload, wait_for_status
from tests.support.server import RunningServer
from tests.support.wire import WireChecker

# A base model whose upstream is down (tests/support/parked.py): its jobs wait in `queued`, costing nothing.
PARKED_MODEL = "gpt-4o-mini"
LOCAL_TRAINING_PRICE = 7.5
LOCAL_CHAT_PRICES = (1.25, 5.0)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def proxy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tiny_model: Path):
    with tiny_model_server(
        tmp_path_factory.mktemp(f"budgets-{request.param}"),
        tiny_model,
        request.param,
        local_training_price_per_1m=LOCAL_TRAINING_PRICE,
        local_chat_input_price_per_1m=LOCAL_CHAT_PRICES[0],
        local_chat_output_price_per_1m=LOCAL_CHAT_PRICES[1],
    ) as running:
        yield running


@pytest.fixture
def admin(proxy: RunningServer) -> Iterator[Admin]:
    operator = Admin(proxy.base_url)
    yield operator
    operator.close()


@pytest.fixture
def connect(proxy: RunningServer, wire: WireChecker) -> Iterator:
    clients: list[openai.OpenAI] = []

    def make(key: str) -> openai.OpenAI:
        client = sdk_client(proxy, key, wire)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def new_project(admin: Admin, **limits) -> tuple[str, dict]:
    project = admin.create_project(f"team-{secrets.token_hex(4)}", **limits)
    return project["id"], admin.create_key(project["id"], "first")


def quoted_micros(client: openai.OpenAI, file_id: str, model: str) -> tuple[int, int]:
    quote = client.get(f"/files/{file_id}/quote", cast_to=object, options={"params": {"model": model}})
    return quote["trained_tokens"], round(quote["estimated_cost"] * 1_000_000)


def create_job(client: openai.OpenAI, file_id: str, model: str = PARKED_MODEL, **extra) -> str:
    return client.fine_tuning.jobs.create(model=model, training_file=file_id, **extra).id


def assert_insufficient_quota(error: openai.RateLimitError, mentions: str) -> None:
    assert error.status_code == 429
    assert error.code == "insufficient_quota"
    assert error.body["type"] == "insufficient_quota"
    assert error.body["message"].startswith("You exceeded your current quota")
    assert mentions in error.body["message"]
    assert error.response.headers["x-should-retry"] == "false"


def usage_of(admin: Admin, project_id: str, group_by: str = "project") -> dict:
    (row,) = admin.usage(project_id=project_id, group_by=group_by)["data"]
    return row


def test_fifty_racing_creations_get_exactly_the_ten_the_budget_fits(admin: Admin, connect):
    project_id, key = new_project(admin)
    client = connect(key["value"])
    file_id = upload(client, "elle-limericks.jsonl")
    tokens, cost = quoted_micros(client, file_id, PARKED_MODEL)
    admin.set_project_limits(project_id, spend_usd=(cost * 10 + cost // 2) / 1_000_000)

    def attempt(_: int) -> str:
        try:
            return create_job(client, file_id)
        except openai.RateLimitError as refused:
            assert_insufficient_quota(refused, "monthly budget")
            return "refused"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    accepted = [outcome for outcome in outcomes if outcome != "refused"]
    assert len(accepted) == 10
    assert sorted(job.id for job in client.fine_tuning.jobs.list(limit=100)) == sorted(accepted)
    row = usage_of(admin, project_id)
    assert row["jobs"] == 10
    assert round(row["reserved_usd"] * 1_000_000) == 10 * cost
    assert row["trained_tokens"] == 0 and row["cost_usd"] == 0
    assert tokens > 0


def test_a_cancelled_job_gives_its_reservation_back(admin: Admin, connect):
    project_id, key = new_project(admin)
    client = connect(key["value"])
    file_id = upload(client, "elle-limericks.jsonl")
    _, cost = quoted_micros(client, file_id, PARKED_MODEL)
    admin.set_project_limits(project_id, spend_usd=(cost + cost // 2) / 1_000_000)
    first = create_job(client, file_id)
    with pytest.raises(openai.RateLimitError) as refused:
        create_job(client, file_id)
    assert_insufficient_quota(refused.value, "is left")
    assert client.fine_tuning.jobs.cancel(first).status == "cancelled"
    second = create_job(client, file_id)
    row = usage_of(admin, project_id)
    assert (row["jobs"], row["trained_tokens"], row["cost_usd"]) == (2, 0, 0.0)
    assert round(row["reserved_usd"] * 1_000_000) == cost
    assert client.fine_tuning.jobs.retrieve(second).status in ("validating_files", "queued")


def test_a_failed_job_gives_its_reservation_back(admin: Admin, connect):
    project_id, key = new_project(admin)
    client = connect(key["value"])
    too_few = upload(client, "three.jsonl", chat_lines(3))
    _, cost = quoted_micros(client, too_few, PARKED_MODEL)
    admin.set_project_limits(project_id, spend_usd=(cost + cost // 2) / 1_000_000)
    failed = wait_for_status(client, create_job(client, too_few), {"failed"})
    assert failed.error.code == "invalid_n_examples"
    # The limit holds one reservation: the second job is admitted only if the first gave its back.
    second = wait_for_status(client, create_job(client, too_few), {"failed"})
    assert second.error.code == "invalid_n_examples"
    row = usage_of(admin, project_id)
    assert (row["jobs"], row["cost_usd"], row["reserved_usd"]) == (2, 0.0, 0.0)


def test_a_finished_job_is_billed_on_its_trained_tokens_to_the_micro_dollar(admin: Admin, connect):
    project_id, key = new_project(admin)
    client = connect(key["value"])
    file_id = upload(client, "elle-limericks.jsonl")
    quoted_tokens, quoted_cost = quoted_micros(client, file_id, TINY_MODEL)
    assert quoted_cost == (quoted_tokens * 7_500_000 + 500_000) // 1_000_000
    job_id = create_job(client, file_id, model=TINY_MODEL, method=_epochs(2))
    job = wait_for_status(client, job_id, {"succeeded", "failed"}, timeout=180)
    assert job.status == "succeeded", job.error
    assert job.trained_tokens
    billed = (job.trained_tokens * 7_500_000 + 500_000) // 1_000_000
    row = usage_of(admin, project_id, "project,key,model,day")
    assert row["project_id"] == project_id and row["key_id"] == key["id"]
    assert row["model"] == TINY_MODEL
    assert row["day"] == time.strftime("%Y-%m-%d", time.gmtime())
    assert (row["jobs"], row["trained_tokens"], row["reserved_usd"]) == (1, job.trained_tokens, 0.0)
    assert round(row["cost_usd"] * 1_000_000) == billed
    csv_lines = admin.usage(project_id=project_id, group_by="project,model", format="csv").splitlines()
    header, line = csv_lines[0].split(","), csv_lines[1].split(",")
    assert dict(zip(header, line, strict=True)) == {
        "project_id": project_id,
        "key_id": "",
        "model": TINY_MODEL,
        "day": "",
        "jobs": "1",
        "trained_tokens": str(job.trained_tokens),
        "reserved_usd": "0.0",
        "chat_requests": "0",
        "chat_prompt_tokens": "0",
        "chat_completion_tokens": "0",
        "cost_usd": str(billed / 1_000_000),
    }


def test_chat_is_billed_on_its_usage_and_stops_when_the_budget_is_spent(admin: Admin, connect):
    project_id, key = new_project(admin)
    client = connect(key["value"])
    job_id = create_job(client, upload(client, "elle-limericks.jsonl"), model=TINY_MODEL, method=_epochs(1))
    tuned = wait_for_status(client, job_id, {"succeeded", "failed"}, timeout=180)
    assert tuned.status == "succeeded", tuned.error
    usages = []
    for model in (tuned.fine_tuned_model, TINY_MODEL, tuned.fine_tuned_model):
        answer = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Tell me about Gallium"}], max_tokens=8
        )
        usages.append((model, answer.usage.prompt_tokens, answer.usage.completion_tokens))
    stream = client.chat.completions.create(
        model=tuned.fine_tuned_model,
        messages=[{"role": "user", "content": "Gallium?"}],
        max_tokens=5,
        stream=True,
    )
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert streamed
    rows = {row["model"]: row for row in admin.usage(project_id=project_id, group_by="model")["data"]}
    tuned_chats = [usage for usage in usages if usage[0] == tuned.fine_tuned_model]
    assert rows[tuned.fine_tuned_model]["chat_requests"] == 3
    assert rows[tuned.fine_tuned_model]["chat_prompt_tokens"] > sum(usage[1] for usage in tuned_chats)
    assert rows[TINY_MODEL]["chat_requests"] == 1 and rows[TINY_MODEL]["jobs"] == 1
    (base_model, prompt, completion) = usages[1]
    chat_micros = (prompt * 1_250_000 + 500_000) // 1_000_000 + (
        completion * 5_000_000 + 500_000
    ) // 1_000_000
    training_micros = (tuned.trained_tokens * 7_500_000 + 500_000) // 1_000_000
    assert round(rows[TINY_MODEL]["cost_usd"] * 1_000_000) == training_micros + chat_micros
    assert (rows[TINY_MODEL]["chat_prompt_tokens"], rows[TINY_MODEL]["chat_completion_tokens"]) == (
        prompt,
        completion,
    )
    spent = sum(round(row["cost_usd"] * 1_000_000) for row in rows.values())
    admin.set_key_limits(key["id"], spend_usd=spent / 1_000_000)
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model=TINY_MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert_insufficient_quota(refused.value, "budget")


def _epochs(n: int) -> dict:
    return {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": n}}}


def test_key_limits_hold_for_that_key_only(admin: Admin, connect):
    project_id, limited = new_project(admin)
    admin.set_key_limits(limited["id"], concurrent_jobs=1)
    free = admin.create_key(project_id, "second")
    limited_client, free_client = connect(limited["value"]), connect(free["value"])
    file_id = upload(limited_client, "elle-limericks.jsonl")
    create_job(limited_client, file_id)
    with pytest.raises(openai.RateLimitError) as refused:
        create_job(limited_client, file_id)
    assert_insufficient_quota(refused.value, "This API key may run 1 fine-tuning jobs at once")
    create_job(free_client, file_id)
    create_job(free_client, file_id)
    admin.set_project_limits(project_id, concurrent_jobs=3)
    with pytest.raises(openai.RateLimitError) as refused:
        create_job(free_client, file_id)
    assert_insufficient_quota(refused.value, "This project may run 3 fine-tuning jobs at once")


def test_trained_token_limits_count_reservations(admin: Admin, connect):
    project_id, key = new_project(admin)
    client = connect(key["value"])
    file_id = upload(client, "elle-limericks.jsonl")
    tokens, _ = quoted_micros(client, file_id, PARKED_MODEL)
    admin.set_key_limits(key["id"], trained_tokens=tokens * 2, period="day")
    create_job(client, file_id)
    create_job(client, file_id)
    with pytest.raises(openai.RateLimitError) as refused:
        create_job(client, file_id)
    assert_insufficient_quota(refused.value, "0 of this API key's daily")


def test_a_model_outside_the_allowed_list_is_a_400(admin: Admin, connect):
    project_id, key = new_project(admin, models=["gpt-4.1-mini"])
    client = connect(key["value"])
    file_id = upload(client, "elle-limericks.jsonl")
    with pytest.raises(openai.BadRequestError) as refused:
        create_job(client, file_id)
    assert refused.value.code == "model_not_allowed"
    assert refused.value.param == "model"
    assert "gpt-4.1-mini" in refused.value.message
    assert create_job(client, file_id, model="gpt-4.1-mini-2025-04-14")
    assert not list(client.fine_tuning.jobs.list())[1:]


def test_a_revoked_key_is_refused_from_its_next_request(admin: Admin, connect):
    _, key = new_project(admin)
    client = connect(key["value"])
    client.models.list()
    revoked = admin.revoke(key["id"])
    assert revoked["revoked_at"] is not None and revoked["value"] is None
    with pytest.raises(openai.AuthenticationError) as refused:
        client.models.list()
    assert refused.value.code == "invalid_api_key"


def blob_names(proxy: RunningServer) -> set[str]:
    assert proxy.settings.blob_dir is not None
    return {path.name for path in proxy.settings.blob_dir.rglob("*") if path.is_file()}


def test_file_count_and_stored_bytes_are_limited(admin: Admin, connect, proxy: RunningServer):
    project_id, key = new_project(admin, files=2)
    client = connect(key["value"])
    upload(client, "elle-limericks.jsonl")
    upload(client, "marv-sarcastic.jsonl")
    blobs_before = blob_names(proxy)
    with pytest.raises(openai.RateLimitError) as refused:
        upload(client, "marv-weighted.jsonl")
    assert_insufficient_quota(refused.value, "may keep 2 files and keeps 2")
    elle_bytes = (DATA / "elle-limericks.jsonl").stat().st_size
    admin.set_project_limits(project_id, stored_bytes=elle_bytes + 10)
    for existing in client.files.list():
        client.files.delete(existing.id)
    upload(client, "elle-limericks.jsonl")
    with pytest.raises(openai.RateLimitError) as refused:
        upload(client, "marv-sarcastic.jsonl")
    assert_insufficient_quota(refused.value, f"may keep {elle_bytes + 10:,} bytes")
    assert len(client.files.list().data) == 1
    assert blob_names(proxy) - blobs_before == {client.files.list().data[0].id}


def test_the_admin_api_answers_the_admin_key_only(proxy: RunningServer, admin: Admin):
    _, key = new_project(admin)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {key['value']}"}):
        response = httpx.get(f"{proxy.base_url}/admin/projects", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "invalid_request_error"


def test_limits_are_validated(admin: Admin):
    project_id, _ = new_project(admin)
    response = admin.http.put(f"/projects/{project_id}/limits", json={"spend_usd": -1})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "spend_usd"
    response = admin.http.put(f"/projects/{project_id}/limits", json={"monthly_dollars": 5})
    assert response.status_code == 400
    assert admin.http.put("/keys/key_unknown/limits", json={}).status_code == 404
    assert admin.http.get("/usage", params={"group_by": "project,week"}).status_code == 400


def test_the_audit_log_holds_admin_actions_and_job_status_changes(admin: Admin, connect):
    project_id, key = new_project(admin)
    admin.set_key_limits(key["id"], concurrent_jobs=5)
    client = connect(key["value"])
    job_id = create_job(client, upload(client, "elle-limericks.jsonl"))
    client.fine_tuning.jobs.cancel(job_id)
    admin.revoke(key["id"])
    entries = admin.audit(project_id=project_id)
    actions = [(entry["actor"], entry["action"], entry["object_id"]) for entry in reversed(entries)]
    assert actions[:4] == [
        ("admin", "project.created", project_id),
        ("admin", "key.created", key["id"]),
        ("admin", "key.limits_set", key["id"]),
        (key["id"], "job.created", job_id),
    ]
    assert actions[-1] == ("admin", "key.revoked", key["id"])
    changes = [entry["details"] for entry in reversed(entries) if entry["action"] == "job.status_changed"]
    assert changes[-1] == {"from": changes[-1]["from"], "to": "cancelled"}
    assert changes[-1]["from"] in ("validating_files", "queued")


def test_racing_creations_of_one_project_name_make_one_project(proxy: RunningServer):
    name = f"race-{secrets.token_hex(4)}"

    def attempt(_: int) -> int:
        response = httpx.post(
            f"{proxy.base_url}/admin/projects",
            json={"name": name},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            timeout=30,
        )
        assert response.status_code == 200 or response.json()["error"]["param"] == "name", response.text
        return response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attempt, range(8)))
    assert statuses.count(200) == 1 and statuses.count(400) == 7


def test_eval_runs_are_billed_as_chats_and_stop_when_the_budget_is_spent(admin: Admin, connect):
    project_id, key = new_project(admin)
    client = connect(key["value"])
    created = qa_eval(client)
    source = {
        "type": "completions",
        "model": TINY_MODEL,
        "input_messages": {"type": "item_reference", "item_reference": "item.question"},
        "sampling_params": {"max_completion_tokens": 8},
        "source": {
            "type": "file_content",
            "content": [
                {"item": {"question": f"What is {i} plus {i}?", "answer": str(2 * i)}} for i in range(6)
            ],
        },
    }
    first = wait_for_run(client, created.id, client.evals.runs.create(created.id, data_source=source).id)
    assert first.status == "completed"
    (sampled,) = first.per_model_usage
    row = usage_of(admin, project_id, group_by="model")
    assert row["chat_requests"] == sampled.invocation_count == 6
    assert (row["chat_prompt_tokens"], row["chat_completion_tokens"]) == (
        sampled.prompt_tokens,
        sampled.completion_tokens,
    )
    spent = round(row["cost_usd"] * 1_000_000)
    admin.set_project_limits(project_id, spend_usd=(spent + spent // 3) / 1_000_000)  # about two more items
    second = wait_for_run(client, created.id, client.evals.runs.create(created.id, data_source=source).id)
    assert second.status == "failed" and second.error.code == "insufficient_quota"
    assert 1 <= second.result_counts.total < 6
    with pytest.raises(openai.RateLimitError) as refused:
        client.evals.runs.create(created.id, data_source=source)
    assert_insufficient_quota(refused.value, "budget")
