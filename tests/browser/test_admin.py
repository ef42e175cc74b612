"""The admin pages, signed in with the operator's key: projects with their limits and what they
hold, keys (the secret shown once, revoke, own limits), usage charts and CSV, the audit log with
filters, webhook endpoints with their delivery log and a retry, and the OpenAI exit kit."""

import csv
import io
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import TINY_MODEL, tiny_model_server
from tests.support.admin import ADMIN_KEY, Admin
from tests.support.dashboard import PHONE, Dashboard, needs_chromium
from tests.support.jobs import upload
from tests.support.server import RunningServer
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [needs_chromium]

# A base model whose upstream is down (tests/support/parked.py): its jobs wait in `queued`,
# holding their reserve.
PARKED_MODEL = "gpt-4o-mini"
PAGES = [
    ("Projects", "Projects"),
    ("Usage", "Usage"),
    ("Audit log", "Audit log"),
    ("Webhooks", "Webhooks"),
    ("Exit kit", "OpenAI exit kit"),
]


@pytest.fixture(scope="module", autouse=True)
def server(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Iterator[RunningServer]:
    """Chat billed at a price, and webhook deliveries given up after one quick retry. Autouse:
    started before the module's browser, whose event loop would refuse the server's setup."""
    with tiny_model_server(
        tmp_path_factory.mktemp("ftgate-admin-pages"),
        tiny_model,
        "sqlite",
        local_chat_input_price_per_1m=100.0,
        local_chat_output_price_per_1m=100.0,
        webhook_retry_seconds=[0.1],
        webhook_tick_seconds=0.1,
    ) as running:
        yield running


@pytest.fixture
def admin(server: RunningServer) -> Iterator[Admin]:
    operator = Admin(server.base_url)
    yield operator
    operator.close()


ONE_LINE_LINKS = """() => [...document.querySelectorAll(".topbar nav:not([hidden]) a")]
    .every((link) => link.getClientRects().length === 1)"""


def admin_nav(page: Page):
    return page.get_by_role("navigation", name="Main")


def sign_in_as_admin(dashboard: Dashboard) -> None:
    dashboard.expect_error(r"status of 401")  # the admin key is first tried as a project's key
    dashboard.sign_in(ADMIN_KEY)
    expect(dashboard.page).to_have_url(re.compile(r"/dashboard/admin/projects$"))


def row_of(page: Page, table: str, text: str):
    return page.get_by_role("table", name=table).locator("tbody tr").filter(has_text=text)


def test_an_operator_creates_a_project_and_a_key_sets_limits_and_sees_usage_move(
    dashboard: Dashboard, server: RunningServer
):
    page = dashboard.page
    sign_in_as_admin(dashboard)
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()
    expect(admin_nav(page).get_by_role("link", name="Projects")).to_have_attribute("aria-current", "page")

    # A new project, with the keyboard only: its label names the field, Enter submits.
    name = f"team-{secrets.token_hex(3)}"
    page.get_by_label("Project name").focus()
    page.keyboard.type(name)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.get_by_role("heading", name=name)).to_be_focused()
    project_id = page.url.rsplit("/", 1)[1]

    # A key: its secret is shown once, in the answer that created it.
    page.get_by_label("New key's name (optional)").fill("ci")
    page.get_by_role("button", name="Create key").click()
    secret_box = page.locator(".secret-once")
    expect(secret_box).to_contain_text("shown this once")
    key = secret_box.locator("code").inner_text()
    assert key.startswith("sk-")
    expect(row_of(page, "API keys", "ci")).to_contain_text("Active")

    # A limit on the project, then one that the API refuses, named next to its field.
    page.get_by_label("Spend per period (USD)").fill("50")
    page.get_by_label("Unfinished jobs").fill("3")
    page.get_by_role("button", name="Save limits").click()
    expect(page.get_by_text("Limits saved.")).to_be_visible()
    standing = page.get_by_role("table", name="Held against the limits now")
    expect(standing).to_contain_text("$0.00 of $50.00")
    dashboard.screenshot("admin-project")

    # The key trains and chats: what the project holds moves on its page and on the usage page.
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
    job = client.fine_tuning.jobs.create(
        model=PARKED_MODEL, training_file=upload(client, "elle-limericks.jsonl")
    )
    client.chat.completions.create(
        model=TINY_MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=4
    )
    page.reload()
    expect(standing.locator("tr").filter(has_text="Unfinished jobs")).to_contain_text("1 of 3")
    expect(standing.locator("tr").filter(has_text="Spend this month")).not_to_contain_text("$0.00 of")
    expect(row_of(page, "API keys", "ci")).not_to_contain_text("$0.00")

    admin_nav(page).get_by_role("link", name="Usage").click()
    expect(page.get_by_role("heading", name="Usage")).to_be_visible()
    totals = row_of(page, "Totals", name)
    expect(totals).to_be_visible()
    cells = totals.locator("td")
    expect(cells.nth(1)).to_have_text("1")  # jobs
    expect(cells.nth(3)).to_have_text("1")  # chat requests
    assert int(cells.nth(4).inner_text().replace(",", "")) > 0  # chat tokens
    expect(page.locator("#chart-chat-tokens canvas")).to_have_attribute(
        "aria-label", re.compile(r"Chat tokens: [1-9]")
    )
    page.get_by_label("Group by").select_option("key")
    expect(row_of(page, "Totals", f"{name} / ci")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    report = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    mine = [row for row in report if row["project_id"] == project_id]
    assert sum(int(row["chat_requests"]) for row in mine) == 1 and sum(int(row["jobs"]) for row in mine) == 1
    dashboard.screenshot("admin-usage-after-a-job")

    # The key's own limits, on its page.
    page.goto(f"{server.base_url}/dashboard/admin/projects/{project_id}")
    row_of(page, "API keys", "ci").get_by_role("link", name="ci").click()
    expect(page.get_by_role("heading", name="API key ci")).to_be_visible()
    page.get_by_label("Trained tokens per period").fill("1000000")
    page.get_by_role("button", name="Save limits").click()
    expect(page.get_by_text("Limits saved.")).to_be_visible()
    dashboard.screenshot("admin-key")
    client.fine_tuning.jobs.cancel(job.id)


def test_keys_are_revoked_and_the_audit_log_is_filtered(dashboard: Dashboard, admin: Admin):
    project = admin.create_project(f"audit-{secrets.token_hex(3)}")
    kept, revoked = admin.create_key(project["id"], "kept"), admin.create_key(project["id"], "leaked")
    page = dashboard.page
    sign_in_as_admin(dashboard)
    page.get_by_role("link", name=project["name"]).click()
    row = row_of(page, "API keys", "leaked")
    row.get_by_role("button", name="Revoke").click()
    row.get_by_role("button", name="Confirm revoke").click()
    expect(row_of(page, "API keys", "leaked")).to_contain_text("Revoked")
    expect(row_of(page, "API keys", "kept")).to_contain_text("Active")

    page.get_by_role("navigation", name="This project").get_by_role("link", name="Audit log").click()
    expect(page).to_have_url(re.compile(rf"/admin/audit\?project={project['id']}$"))
    entries = page.get_by_role("table", name="Audit log").locator("tbody tr")
    expect(entries).to_have_count(4)  # created, two keys, a revoke
    page.get_by_label("Action").fill("key.revoked")
    page.get_by_label("Action").press("Enter")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text(revoked["id"])
    expect(page.get_by_label("Action")).to_have_value("key.revoked")
    page.get_by_label("Action").fill("")
    page.get_by_label("Actor").fill("system")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No entries match.")).to_be_visible()
    page.get_by_label("Actor").fill("admin")
    page.get_by_label("From", exact=True).fill("2001-01-01")
    page.get_by_label("To", exact=True).fill("2001-01-02")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No entries match.")).to_be_visible()
    page.get_by_label("To", exact=True).fill("")
    page.get_by_role("button", name="Filter").click()
    expect(entries).to_have_count(4)
    assert kept["id"] in entries.nth(2).inner_text()
    dashboard.screenshot("admin-audit-filtered")


def test_a_failed_webhook_delivery_is_retried_from_its_log(dashboard: Dashboard, admin: Admin, server):
    project = admin.create_project(f"hooks-{secrets.token_hex(3)}")
    key = admin.create_key(project["id"])["value"]
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
    page = dashboard.page
    sign_in_as_admin(dashboard)
    with WebhookReceiver(answers=[500, 500]) as receiver:
        dashboard.open(f"admin/webhooks?project={project['id']}")
        page.get_by_label("Endpoint URL").fill(receiver.url)
        page.get_by_label("fine_tuning.job.succeeded").uncheck()
        page.get_by_role("button", name="Add endpoint").click()
        secret_box = page.locator(".secret-once")
        expect(secret_box).to_contain_text("shown this once")
        receiver.secret = secret_box.locator("code").inner_text()
        expect(row_of(page, "Webhook endpoints", receiver.url)).to_contain_text("failed, cancelled")

        job = client.fine_tuning.jobs.create(
            model=PARKED_MODEL, training_file=upload(client, "elle-limericks.jsonl")
        )
        client.fine_tuning.jobs.cancel(job.id)
        receiver.wait_for(lambda r: len(r.received) == 2)
        deliveries = page.get_by_role("table", name="Deliveries").locator("tbody tr")
        expect(deliveries.first).to_contain_text("failed", timeout=20_000)
        expect(deliveries.first).to_contain_text("HTTP 500")
        dashboard.screenshot("admin-webhooks-failed-delivery")
        deliveries.first.get_by_role("button", name=re.compile("^Retry delivery")).click()
        expect(deliveries.first).to_contain_text("delivered", timeout=20_000)
        expect(deliveries.first).to_contain_text("3 · last")
    assert [request.answered for request in receiver.received] == [500, 500, 200]


def test_the_exit_kit_shows_captures_and_aliases_with_their_cutover(dashboard: Dashboard, admin: Admin):
    project = admin.create_project(f"exit-{secrets.token_hex(3)}")
    admin.call("PUT", f"/projects/{project['id']}/captures/{PARKED_MODEL}", json={"sample_rate": 0.5})
    admin.call(
        "PUT",
        f"/projects/{project['id']}/aliases/{PARKED_MODEL}",
        json={"replacement": TINY_MODEL, "active_from": "2099-01-01"},
    )
    admin.call("PUT", f"/projects/{project['id']}/aliases/gpt-4o", json={"replacement": TINY_MODEL})
    page = dashboard.page
    sign_in_as_admin(dashboard)
    dashboard.open(f"admin/exit-kit?project={project['id']}")
    expect(page.get_by_role("heading", name="OpenAI exit kit")).to_be_visible()
    expect(row_of(page, "Captures", PARKED_MODEL)).to_contain_text("Capturing")
    expect(row_of(page, "Captures", PARKED_MODEL)).to_contain_text("50%")
    expect(row_of(page, "Aliases", "gpt-4o-mini")).to_contain_text("Waiting for cutover")
    expect(row_of(page, "Aliases", "gpt-4o-mini")).to_contain_text("2099")
    expect(
        page.get_by_role("table", name="Aliases").locator("tbody tr").filter(has_text="At once")
    ).to_contain_text("In force")
    expect(page.get_by_text("Nothing imported yet")).to_be_visible()
    dashboard.screenshot("admin-exit-kit-in-use")


def test_every_admin_page_renders_on_a_desktop_and_a_phone(dashboard: Dashboard, admin: Admin):
    project = admin.create_project(f"phone-{secrets.token_hex(3)}", spend_usd=20.0)
    key = admin.create_key(project["id"], "mobile")
    page = dashboard.page
    sign_in_as_admin(dashboard)
    for link, heading in PAGES:
        admin_nav(page).get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(page.locator('[aria-busy="true"]')).to_have_count(0)
        dashboard.screenshot(f"admin-{link.lower().replace(' ', '-')}")

    # A project's key may not open the admin pages, nor the admin key a project's pages.
    dashboard.open("jobs")
    expect(page).to_have_url(re.compile(r"/dashboard/admin/projects$"))

    # Between a phone and a desktop the top bar's links stay whole, on a row of their own.
    page.set_viewport_size({"width": 700, "height": 844})
    dashboard.open("admin/audit")
    expect(page.locator("h1")).to_be_visible()
    for link, _ in PAGES:
        expect(admin_nav(page).get_by_role("link", name=link)).to_be_in_viewport(ratio=1)
    assert page.evaluate(ONE_LINE_LINKS), "a link of the top bar breaks across lines"
    assert page.evaluate("document.documentElement.scrollWidth") <= 700

    page.set_viewport_size(PHONE)
    for path, name, card_tables in [
        ("admin/projects", "projects", 1),
        (f"admin/projects/{project['id']}", "project", 1),
        (f"admin/keys/{key['id']}", "key", 0),
        ("admin/usage", "usage", 0),
        ("admin/audit", "audit", 1),
        (f"admin/webhooks?project={project['id']}", "webhooks", 0),
        (f"admin/exit-kit?project={project['id']}", "exit-kit", 0),
    ]:
        dashboard.open(path)
        expect(page.locator("h1")).to_be_visible()
        expect(page.locator('[aria-busy="true"]')).to_have_count(0)
        for link, _ in PAGES:
            expect(admin_nav(page).get_by_role("link", name=link)).to_be_in_viewport(ratio=1)
        dashboard.assert_fits()
        dashboard.assert_card_tables_keep_their_roles(at_least=card_tables)
        dashboard.screenshot(f"admin-{name}-390px")
