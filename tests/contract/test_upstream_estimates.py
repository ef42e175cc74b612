"""Upstream price estimates (`upstream_estimates`), driven with the official SDK: a job reserves
the larger of ftgate's quote and its upstream's estimate (Together's estimate-price, asked before
the job is sent; Fireworks' estimatedCost, read on the job), exact to the micro-dollar; a budget
that the larger figure exceeds, or a Together that says the account may not proceed, fails the
job before it is sent. On SQLite and PostgreSQL."""

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import openai
import pytest

from gateway.budgets import pricing
from tests.conftest import sdk_client
from tests.support.admin import Admin
from tests.support.fake_fireworks import FakeFireworks
from tests.support.fake_together import FakeTogether
from tests.support.fireworks import fireworks_server, scripted_fireworks
from tests.support.jobs import DATA, upload, wait_for_status
from tests.support.server import RunningServer
from tests.support.together import scripted_together, together_server
from tests.support.upstream import LLAMA, supervised, upstream_fixtures
from tests.support.wire import WireChecker

FINISHED = {"succeeded", "failed", "cancelled"}
# ftgate's own price for the Llama model, USD per 1M trained tokens.
FTGATE_PRICE = 1.0
# Upstream prices well above and well below ftgate's, for the same tokens.
DEARER, CHEAPER = 50.0, 0.01
EPOCHS = 2
ELLE = "elle-limericks.jsonl"
Connect = Callable[..., tuple[openai.OpenAI, str]]


def estimating(start: Callable[..., AbstractContextManager[RunningServer]]) -> Callable[..., Any]:
    """`start`'s server at ftgate's price, its upstream configured with `upstream_estimates`."""
    return lambda data_dir, database, fake: start(
        data_dir, database, fake, FTGATE_PRICE, upstream_estimates=True
    )


together_fake, together, tidy_together_fake, _ = upstream_fixtures(
    "estimates-together",
    scripted_together,
    estimating(together_server),
    fake="together_fake",
    server="together",
)
fireworks_fake, fireworks, tidy_fireworks_fake, _ = upstream_fixtures(
    "estimates-fireworks",
    scripted_fireworks,
    estimating(fireworks_server),
    fake="fireworks_fake",
    server="fireworks",
)


@pytest.fixture
def connect(wire: WireChecker) -> Iterator[Connect]:
    """A new project on `server` (held to `limits`), an SDK client on its key, and its id."""
    opened: list[tuple[openai.OpenAI, Admin]] = []

    def make(server: RunningServer, **limits: object) -> tuple[openai.OpenAI, str]:
        admin = Admin(server.base_url)
        project = admin.create_project(f"estimates-{secrets.token_hex(4)}", **limits)
        client = sdk_client(server, admin.create_key(project["id"])["value"], wire)
        opened.append((client, admin))
        return client, project["id"]

    yield make
    for client, admin in opened:
        client.close()
        admin.close()


def quote(client: openai.OpenAI, file_id: str, **params: object) -> dict:
    params = {"model": LLAMA} | params
    return client.get(f"/files/{file_id}/quote", cast_to=object, options={"params": params})


def quoted_micros(client: openai.OpenAI, file_id: str) -> int:
    """ftgate's own figure."""
    return round(quote(client, file_id, n_epochs=EPOCHS)["estimated_cost"] * 1_000_000)


def usage(server: RunningServer, project_id: str) -> dict:
    admin = Admin(server.base_url)
    try:
        (row,) = admin.usage(project_id=project_id, group_by="project")["data"]
    finally:
        admin.close()
    return row


def reserved_micros(server: RunningServer, project_id: str) -> int:
    return round(usage(server, project_id)["reserved_usd"] * 1_000_000)


def file_on(
    server: RunningServer, fake: FakeTogether | FakeFireworks, connect: Connect, price: float, **script: int
) -> tuple[openai.OpenAI, str, str]:
    """A new project on `server`, whose upstream `fake` estimates at `price` (and as `script`
    says besides): its client, its id, and the Elle limericks uploaded."""
    fake.script_estimates(price_per_1m=price, **script)
    client, project_id = connect(server)
    return client, project_id, upload(client, ELLE)


def create(client: openai.OpenAI, file_id: str) -> str:
    return client.fine_tuning.jobs.create(model=LLAMA, training_file=file_id, method=supervised(EPOCHS)).id


def test_together_s_dearer_estimate_is_what_the_job_reserves(
    together: RunningServer, together_fake: FakeTogether, connect: Connect
):
    client, project_id, file_id = file_on(together, together_fake, connect, DEARER)
    quoted = quoted_micros(client, file_id)
    together_fake.script_next_job(step_seconds=0.5)
    job_id = create(client, file_id)
    wait_for_status(client, job_id, {"running"})
    estimate = together_fake.estimates[-1]
    assert estimate["estimated_train_token_count"] == EPOCHS * (len((DATA / ELLE).read_bytes()) // 4)
    expected = pricing.usd_to_micros(estimate["estimated_total_price"])
    assert expected > quoted > 0
    assert reserved_micros(together, project_id) == expected
    assert client.fine_tuning.jobs.cancel(job_id).status == "cancelled"
    assert reserved_micros(together, project_id) == 0


def test_ftgate_s_quote_stays_reserved_where_together_s_estimate_is_cheaper(
    together: RunningServer, together_fake: FakeTogether, connect: Connect
):
    client, project_id, file_id = file_on(together, together_fake, connect, CHEAPER)
    quoted = quoted_micros(client, file_id)
    asked_before = len(together_fake.estimates)
    together_fake.script_next_job(step_seconds=0.5)
    job_id = create(client, file_id)
    wait_for_status(client, job_id, {"running"})
    assert len(together_fake.estimates) == asked_before + 1
    assert pricing.usd_to_micros(together_fake.estimates[-1]["estimated_total_price"]) < quoted
    assert reserved_micros(together, project_id) == quoted
    client.fine_tuning.jobs.cancel(job_id)


def test_a_budget_that_together_s_estimate_exceeds_fails_the_job_before_it_is_sent(
    together: RunningServer, together_fake: FakeTogether, connect: Connect
):
    client, project_id, file_id = file_on(together, together_fake, connect, DEARER)
    quoted = quoted_micros(client, file_id)
    budget = quoted * 3  # the quote fits, Together's fifty-fold estimate does not
    admin = Admin(together.base_url)
    admin.set_project_limits(project_id, spend_usd=budget / 1_000_000)
    admin.close()
    jobs_before = together_fake.jobs_created
    done = wait_for_status(client, create(client, file_id), FINISHED)
    assert done.status == "failed"
    assert done.error.code == "insufficient_quota"
    estimate = pricing.usd_to_micros(together_fake.estimates[-1]["estimated_total_price"])
    assert f"The upstream tg estimates this job at {pricing.usd_text(estimate)}" in done.error.message
    assert f"more than ftgate's quote of {pricing.usd_text(quoted)}" in done.error.message
    assert "monthly budget" in done.error.message
    assert together_fake.jobs_created == jobs_before
    row = usage(together, project_id)
    assert (row["jobs"], row["reserved_usd"], row["cost_usd"]) == (1, 0.0, 0.0)


def test_a_job_together_says_the_account_may_not_run_fails_with_why_and_is_not_sent(
    together: RunningServer, together_fake: FakeTogether, connect: Connect
):
    client, project_id, file_id = file_on(together, together_fake, connect, DEARER, refuse=1)
    jobs_before = together_fake.jobs_created
    done = wait_for_status(client, create(client, file_id), FINISHED)
    assert done.status == "failed"
    assert done.error.code == "upstream_not_allowed"
    assert "Together will not run this job" in done.error.message
    assert "allowed_to_proceed" in done.error.message
    assert together_fake.jobs_created == jobs_before
    assert reserved_micros(together, project_id) == 0


@pytest.mark.parametrize("price", [DEARER, CHEAPER])
def test_a_fireworks_job_reserves_the_larger_of_its_estimated_cost_and_the_quote(
    fireworks: RunningServer, fireworks_fake: FakeFireworks, connect: Connect, price: float
):
    client, project_id, file_id = file_on(fireworks, fireworks_fake, connect, price)
    quoted = quoted_micros(client, file_id)
    fireworks_fake.script_next_job(step_seconds=0.5)
    job_id = create(client, file_id)
    wait_for_status(client, job_id, {"running"})
    [upstream] = [job for job in fireworks_fake.jobs() if job["displayName"] == job_id]
    money = upstream["estimatedCost"]
    assert isinstance(money["units"], str)
    estimate = int(money["units"]) * 1_000_000 + (money["nanos"] + 500) // 1000
    expected = max(estimate, quoted)
    assert (estimate > quoted) == (price == DEARER)
    deadline = time.monotonic() + 10
    while (reserved := reserved_micros(fireworks, project_id)) != expected:
        assert time.monotonic() < deadline, (reserved, expected)
        time.sleep(0.1)
    assert client.fine_tuning.jobs.cancel(job_id).status == "cancelled"
    assert reserved_micros(fireworks, project_id) == 0


def test_a_file_together_lost_before_the_estimate_is_uploaded_again_once(
    together: RunningServer, together_fake: FakeTogether, connect: Connect
):
    client, _, file_id = file_on(together, together_fake, connect, CHEAPER)
    first = wait_for_status(client, create(client, file_id), FINISHED)
    assert first.status == "succeeded", first.error
    together_fake.forget_files()
    uploads_before, asked_before = together_fake.files_uploaded, len(together_fake.estimates)
    done = wait_for_status(client, create(client, file_id), FINISHED)
    assert done.status == "succeeded", done.error
    assert together_fake.files_uploaded - uploads_before == 1
    assert len(together_fake.estimates) - asked_before == 1  # the refused ask gave no estimate


@pytest.mark.parametrize("price", [DEARER, CHEAPER])
def test_a_together_quote_shows_together_s_estimate_and_the_figure_a_job_reserves(
    together: RunningServer, together_fake: FakeTogether, connect: Connect, price: float
):
    client, project_id, file_id = file_on(together, together_fake, connect, price)
    uploads_before = together_fake.files_uploaded
    quoted = quote(client, file_id, n_epochs=EPOCHS)
    estimate = together_fake.estimates[-1]
    assert estimate["estimated_train_token_count"] == EPOCHS * (len((DATA / ELLE).read_bytes()) // 4)
    assert quoted["upstream_estimated_cost"] == estimate["estimated_total_price"]
    assert quoted["upstream_note"] is None
    dearer = price == DEARER
    assert (quoted["upstream_estimated_cost"] > quoted["estimated_cost"]) == dearer
    assert quoted["reserved_cost"] == max(quoted["upstream_estimated_cost"], quoted["estimated_cost"])
    assert quoted["reserves"] == ("upstream_estimate" if dearer else "quote")
    together_fake.script_next_job(step_seconds=0.5)
    job_id = create(client, file_id)
    wait_for_status(client, job_id, {"running"})
    assert reserved_micros(together, project_id) == round(quoted["reserved_cost"] * 1_000_000)
    assert together_fake.files_uploaded - uploads_before == 1  # the job sent the quote's copy
    client.fine_tuning.jobs.cancel(job_id)


def test_a_together_quote_without_epochs_asks_for_together_s_default_as_a_job_would(
    together: RunningServer, together_fake: FakeTogether, connect: Connect
):
    client, _, file_id = file_on(together, together_fake, connect, DEARER)
    quoted = quote(client, file_id)
    assert quoted["n_epochs"] > 1  # ftgate's "auto"
    estimate = together_fake.estimates[-1]
    assert estimate["estimated_train_token_count"] == len((DATA / ELLE).read_bytes()) // 4  # one epoch
    assert quoted["upstream_estimated_cost"] == estimate["estimated_total_price"]


def test_a_quote_says_with_together_s_words_that_together_will_not_run_the_job(
    together: RunningServer, together_fake: FakeTogether, connect: Connect
):
    client, _, file_id = file_on(together, together_fake, connect, DEARER, refuse=1)
    quoted = quote(client, file_id, n_epochs=EPOCHS)
    assert quoted["upstream_estimated_cost"] is None
    assert quoted["reserved_cost"] == quoted["estimated_cost"] > 0
    assert quoted["reserves"] == "quote"
    assert "Together will not run this job" in quoted["upstream_note"]
    assert "allowed_to_proceed" in quoted["upstream_note"]
    assert quoted["upstream_note"].endswith("A job would fail before it is sent.")


def test_a_quote_together_cannot_estimate_just_now_comes_without_its_figure(
    together: RunningServer, together_fake: FakeTogether, connect: Connect
):
    client, _, file_id = file_on(together, together_fake, connect, DEARER)
    asked_before = len(together_fake.estimates)
    together_fake.add_fault("POST", "/fine-tunes/estimate-price", "status", times=10, status=503)
    try:
        quoted = quote(client, file_id, n_epochs=EPOCHS)
    finally:
        together_fake.clear_faults()
    assert quoted["upstream_estimated_cost"] is None
    assert quoted["reserved_cost"] == quoted["estimated_cost"]
    assert quoted["upstream_note"].startswith("The upstream tg could not be asked for its estimate")
    assert len(together_fake.estimates) == asked_before
    again = quote(client, file_id, n_epochs=EPOCHS)  # the file's copy stays for the next ask
    assert again["upstream_estimated_cost"] == together_fake.estimates[-1]["estimated_total_price"]


def test_a_quote_on_a_file_together_lost_uploads_it_again_once(
    together: RunningServer, together_fake: FakeTogether, connect: Connect
):
    client, _, file_id = file_on(together, together_fake, connect, DEARER)
    first = quote(client, file_id, n_epochs=EPOCHS)
    together_fake.forget_files()
    uploads_before = together_fake.files_uploaded
    again = quote(client, file_id, n_epochs=EPOCHS)
    assert together_fake.files_uploaded - uploads_before == 1
    assert again["upstream_estimated_cost"] == first["upstream_estimated_cost"]
    assert again["upstream_note"] is None


def test_a_fireworks_quote_says_its_estimate_comes_on_the_job(
    fireworks: RunningServer, fireworks_fake: FakeFireworks, connect: Connect
):
    client, _, file_id = file_on(fireworks, fireworks_fake, connect, DEARER)
    uploads_before = fireworks_fake.files_uploaded
    quoted = quote(client, file_id, n_epochs=EPOCHS)
    assert quoted["upstream_estimated_cost"] is None
    assert quoted["reserved_cost"] == quoted["estimated_cost"]
    assert "shows its estimate only on a job it has created" in quoted["upstream_note"]
    assert fireworks_fake.files_uploaded == uploads_before
