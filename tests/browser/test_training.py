"""The whole flow in the browser: upload, create a job on the local tiny model, watch its charts
grow while it trains, then ask its fine-tuned model and the base model the same question."""

import re
import time

import openai
from playwright.sync_api import Page, expect

from tests.conftest import DATA, TINY_MODEL
from tests.support.dashboard import Dashboard, needs_chromium, on_sqlite, project_key
from tests.support.jobs import ELLE, metrics_events
from tests.support.server import RunningServer

pytestmark = [needs_chromium, on_sqlite]

TERMINAL = {"succeeded", "failed", "cancelled"}
CHART_VALUES = (
    "(id) => Chart.getChart(document.querySelector(`#${id} canvas`)).data.datasets[0].data.map((p) => p.y)"
)


def watch_points_until_done(dashboard: Dashboard, timeout: float = 120) -> list[int]:
    """The loss chart's point count, read every 100 ms until the job ends. The job page is saved
    at each new count part-way, so the last such screenshot shows the furthest partial chart."""
    page = dashboard.page
    status = page.locator(".status-slot")
    counts = [0]
    deadline = time.monotonic() + timeout
    while status.text_content() not in TERMINAL:
        assert time.monotonic() < deadline, f"the job is still {status.text_content()} after {timeout}s"
        count = int(page.locator("#loss-chart").get_attribute("data-points"))
        if 0 < count < 100 and count != counts[-1]:
            dashboard.screenshot("job-running")
        counts.append(count)
        page.wait_for_timeout(100)
    return counts


def create_job_from_the_files_page(page: Page) -> str:
    page.locator("#upload-input").set_input_files(DATA / "elle-limericks.jsonl")
    expect(page.locator("#validation-report")).to_contain_text("10 examples")
    page.get_by_label("Suffix").fill("elle")
    page.get_by_role("button", name="Create job").click()
    expect(page).to_have_url(re.compile(r"/dashboard/jobs/ftjob-\w+$"))
    return page.url.rsplit("/", 1)[1]


def test_a_job_trains_from_the_dashboard_and_its_model_answers_in_the_playground(
    dashboard: Dashboard, server: RunningServer
):
    key = project_key(server)
    dashboard.sign_in(key, "files")
    page = dashboard.page
    job_id = create_job_from_the_files_page(page)
    expect(page.get_by_role("heading", name=job_id)).to_be_visible()

    counts = watch_points_until_done(dashboard)
    expect(page.locator(".status-slot")).to_have_text("succeeded")
    assert counts == sorted(counts), counts
    assert any(0 < count < 100 for count in counts), f"never saw the chart part-way: {counts}"
    expect(page.locator("#loss-chart")).to_have_attribute("data-points", "100")
    expect(page.locator("#accuracy-chart")).to_have_attribute("data-points", "100")

    # The charts draw exactly the API's metrics events, step by step.
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
    events = metrics_events(client, job_id)
    assert page.evaluate(CHART_VALUES, "loss-chart") == [event.data["train_loss"] for event in events]
    assert page.evaluate(CHART_VALUES, "accuracy-chart") == [
        event.data["train_mean_token_accuracy"] for event in events
    ]

    model = client.fine_tuning.jobs.retrieve(job_id).fine_tuned_model
    assert model.startswith(f"ft:{TINY_MODEL}:") and ":elle:" in model
    expect(page.locator("#fine-tuned-model")).to_have_text(model)
    checkpoints = page.get_by_role("table", name="Checkpoints")
    steps = checkpoints.locator("tbody tr td:first-child")
    expect(steps).to_have_text(["100", "90", "80"])
    expect(checkpoints.locator("tbody tr").first).to_contain_text(model)
    expect(page.locator("#events")).to_contain_text("The job has successfully completed")
    for action in ("pause", "resume", "cancel"):
        expect(page.locator(f"#{action}-job")).to_be_disabled()
    dashboard.screenshot("job-detail")

    dashboard.go("Jobs")
    row = page.get_by_role("row", name=re.compile(job_id))
    expect(row).to_contain_text("succeeded")
    expect(row).to_contain_text("elle")
    expect(row.locator("td").last).to_have_text("$0.00")
    dashboard.screenshot("jobs")

    page.get_by_role("link", name=job_id).click()
    page.locator(".model-banner").get_by_role("link", name="Open in playground").click()
    expect(page.get_by_label("Base model", exact=True)).to_have_value(TINY_MODEL)
    expect(page.get_by_label("Fine-tuned model or checkpoint")).to_have_value(model)
    system, user, answer = ELLE[0]["messages"]
    page.get_by_label("System message").fill(system["content"])
    page.get_by_label("User message").fill(user["content"])
    page.get_by_role("button", name="Run both").click()

    tuned = page.locator("#answer-tuned")
    base = page.locator("#answer-base")
    for panel in (base, tuned):
        expect(panel.locator(".prompt-tokens")).to_have_text(
            re.compile(r"^\d+ prompt tokens$"), timeout=60_000
        )
        expect(panel.locator(".completion-tokens")).to_have_text(re.compile(r"^\d+ completion tokens$"))
        expect(panel.locator(".latency")).to_have_text(re.compile(r"^\d+ ms$"))
    dashboard.screenshot("playground")
    expect(tuned.locator(".answer-text")).to_have_text(answer["content"])
    expect(base.locator(".answer-text")).not_to_have_text(answer["content"])
