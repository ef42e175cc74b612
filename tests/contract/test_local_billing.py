"""Local jobs are quoted, reserved and billed on exactly what the trainer trains: the quote equals
the finished job's `trained_tokens`, a trained-token allowance one short refuses the job, and a job
cancelled or paused mid-training records nothing after its stop event and is billed on the steps
it trained."""

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.conftest import TINY_MODEL, sdk_client, tiny_model_server
from tests.support.admin import Admin
from tests.support.jobs import DATA, ELLE, metrics_events, upload, wait_for_status
from tests.support.server import RunningServer
from tests.support.wire import WireChecker

PRICE_PER_1M = 7.5
PRICE_MICROS = 7_500_000
CANCELLED = "Fine tuning process stopping due to job cancellation"
PAUSED = "Fine-tuning job paused"
RESUMED = "Fine-tuning job resumed"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def billing_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tiny_model: Path
) -> Iterator[RunningServer]:
    with tiny_model_server(
        tmp_path_factory.mktemp(f"local-billing-{request.param}"),
        tiny_model,
        request.param,
        local_training_price_per_1m=PRICE_PER_1M,
    ) as running:
        yield running


@pytest.fixture
def admin(billing_server: RunningServer) -> Iterator[Admin]:
    operator = Admin(billing_server.base_url)
    yield operator
    operator.close()


@pytest.fixture
def new_client(billing_server: RunningServer, admin: Admin, wire: WireChecker) -> Iterator:
    """Makes a project (with `limits`) and an SDK client on its key: (client, project id, key id)."""
    clients: list[openai.OpenAI] = []

    def make(**limits: object) -> tuple[openai.OpenAI, str, str]:
        project = admin.create_project(f"team-{secrets.token_hex(4)}", **limits)
        key = admin.create_key(project["id"], "first")
        client = sdk_client(billing_server, key["value"], wire)
        clients.append(client)
        return client, project["id"], key["id"]

    yield make
    for client in clients:
        client.close()


def quote(client: openai.OpenAI, file_id: str, **params: object) -> dict:
    return client.get(
        f"/files/{file_id}/quote", cast_to=object, options={"params": {"model": TINY_MODEL, **params}}
    )


def usage(admin: Admin, project_id: str) -> dict:
    (row,) = admin.usage(project_id=project_id, group_by="project")["data"]
    return row


def cost_micros(tokens: int) -> int:
    return (tokens * PRICE_MICROS + 500_000) // 1_000_000


def preference_pairs() -> bytes:
    pairs = [
        {
            "input": {"messages": [{"role": "user", "content": f"Name an element, please ({i})."}]},
            "preferred_output": [{"role": "assistant", "content": "Gallium." * (1 + i % 3)}],
            "non_preferred_output": [{"role": "assistant", "content": "I will not."}],
        }
        for i in range(10)
    ]
    return "".join(json.dumps(pair) + "\n" for pair in pairs).encode()


TRAINING_FILES = {
    "chat": ("supervised", (DATA / "elle-limericks.jsonl").read_bytes()),
    "weight-0-messages": ("supervised", (DATA / "marv-weighted.jsonl").read_bytes() * 4),
    "dpo": ("dpo", preference_pairs()),
}


def create(client: openai.OpenAI, file_id: str, method: str, **hyperparameters: object) -> str:
    return client.fine_tuning.jobs.create(
        model=TINY_MODEL,
        training_file=file_id,
        seed=3,
        method={"type": method, method: {"hyperparameters": hyperparameters}},
    ).id


@pytest.mark.parametrize("kind", list(TRAINING_FILES))
def test_the_quote_is_exactly_what_the_job_trains_and_bills(kind: str, new_client, admin: Admin):
    method, content = TRAINING_FILES[kind]
    client, project_id, _ = new_client()
    file_id = upload(client, f"{kind}.jsonl", content)
    quoted = quote(client, file_id, n_epochs=2)
    assert quoted["is_valid"] is True

    job_id = create(client, file_id, method, n_epochs=2)
    assert usage(admin, project_id)["reserved_usd"] * 1_000_000 == pytest.approx(
        cost_micros(quoted["trained_tokens"])
    )
    job = wait_for_status(client, job_id, {"succeeded", "failed", "cancelled"}, timeout=180)
    assert job.status == "succeeded", job.error
    assert job.trained_tokens == quoted["trained_tokens"] == 2 * quoted["billable_tokens_per_epoch"]
    assert round(quoted["estimated_cost"] * 1_000_000) == cost_micros(job.trained_tokens)
    row = usage(admin, project_id)
    assert (row["trained_tokens"], row["reserved_usd"]) == (job.trained_tokens, 0.0)
    assert round(row["cost_usd"] * 1_000_000) == cost_micros(job.trained_tokens)

    # The reservation counts the same tokens: an allowance one short refuses the same job.
    short, _, key_id = new_client()
    short_file = upload(short, f"{kind}.jsonl", content)
    admin.set_key_limits(key_id, trained_tokens=job.trained_tokens - 1, period="day")
    with pytest.raises(openai.RateLimitError) as refused:
        create(short, short_file, method, n_epochs=2)
    assert refused.value.code == "insufficient_quota"
    assert f"This job would train {job.trained_tokens:,} tokens" in refused.value.body["message"]
    admin.set_key_limits(key_id, trained_tokens=job.trained_tokens, period="day")
    short.fine_tuning.jobs.cancel(create(short, short_file, method, n_epochs=2))


def the_same_example(n: int) -> bytes:
    """`n` copies of one example: every step of batch size 1 trains the same number of tokens."""
    return (json.dumps(ELLE[0]) + "\n").encode() * n


def events_in_order(client: openai.OpenAI, job_id: str) -> list:
    return list(reversed(list(client.fine_tuning.jobs.list_events(job_id, limit=1000))))


def metrics_after(events: list, message: str, until: str | None = None) -> list[int]:
    """Steps of the metrics events recorded after the event `message` (and before `until`)."""
    start = next(i for i, event in enumerate(events) if event.message == message)
    later = events[start + 1 :]
    if until is not None:
        later = later[: next(i for i, event in enumerate(later) if event.message == until)]
    return [event.data["step"] for event in later if event.type == "metrics"]


def wait_for_steps(client: openai.OpenAI, job_id: str, steps: int) -> None:
    wait_for_status(client, job_id, {"running"}, timeout=60)
    while len(metrics_events(client, job_id)) < steps:
        time.sleep(0.05)


def test_a_cancelled_job_is_billed_on_the_steps_it_trained(new_client, admin: Admin):
    client, project_id, _ = new_client()
    file_id = upload(client, "same.jsonl", the_same_example(50))
    quoted = quote(client, file_id, n_epochs=25)
    per_step = quoted["billable_tokens_per_epoch"] // 50
    assert per_step * 50 == quoted["billable_tokens_per_epoch"]
    job_id = create(client, file_id, "supervised", n_epochs=25, batch_size=1)
    wait_for_steps(client, job_id, 5)
    assert client.fine_tuning.jobs.cancel(job_id).status == "cancelled"
    wait_for_status(client, job_id, {"cancelled"})
    time.sleep(2.0)  # the trainer notices at its next step, and must record nothing more

    events = events_in_order(client, job_id)
    assert metrics_after(events, CANCELLED) == []
    steps = [event.data["step"] for event in events if event.type == "metrics"]
    assert steps == list(range(1, len(steps) + 1)) and 5 <= len(steps) < 1250
    job = client.fine_tuning.jobs.retrieve(job_id)
    assert job.trained_tokens == per_step * len(steps) > 0
    row = usage(admin, project_id)
    assert (row["jobs"], row["trained_tokens"], row["reserved_usd"]) == (1, job.trained_tokens, 0.0)
    assert round(row["cost_usd"] * 1_000_000) == cost_micros(job.trained_tokens)


def test_a_paused_job_records_nothing_until_resumed_and_is_billed_once(new_client, admin: Admin):
    client, project_id, _ = new_client()
    file_id = upload(client, "same.jsonl", the_same_example(20))
    quoted = quote(client, file_id, n_epochs=2)
    job_id = create(client, file_id, "supervised", n_epochs=2, batch_size=1)
    wait_for_steps(client, job_id, 5)
    assert client.fine_tuning.jobs.pause(job_id).status == "paused"
    time.sleep(2.0)
    paused_steps = len(metrics_events(client, job_id))
    assert metrics_after(events_in_order(client, job_id), PAUSED) == []

    assert client.fine_tuning.jobs.resume(job_id).status == "queued"
    job = wait_for_status(client, job_id, {"succeeded", "failed"}, timeout=180)
    assert job.status == "succeeded", job.error
    events = events_in_order(client, job_id)
    assert metrics_after(events, PAUSED, until=RESUMED) == []
    steps = [event.data["step"] for event in events if event.type == "metrics"]
    assert steps == list(range(1, 41)) and paused_steps < 40
    assert job.trained_tokens == quoted["trained_tokens"]
    row = usage(admin, project_id)
    assert (row["trained_tokens"], row["reserved_usd"]) == (job.trained_tokens, 0.0)
    assert round(row["cost_usd"] * 1_000_000) == cost_micros(job.trained_tokens)
