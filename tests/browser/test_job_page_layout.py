"""At a phone's width (390 px) the jobs list and a job's page show every column as a card and
never scroll sideways; a finished job offers no pause, resume or cancel."""

from collections.abc import Iterator

import openai
import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import TINY_MODEL
from tests.support.dashboard import PHONE, Dashboard, needs_chromium, on_sqlite, project_key
from tests.support.jobs import upload, wait_for_status
from tests.support.server import RunningServer

pytestmark = [needs_chromium, on_sqlite]

LOSS_CHART = """() => {
    const chart = Chart.getChart(document.querySelector("#loss-chart canvas"));
    return [chart.options.scales.y.type, chart.data.datasets[0].data.map((point) => point.y)];
}"""


@pytest.fixture
def phone(browser: Browser, server: RunningServer) -> Iterator[Dashboard]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2)
    context.set_default_timeout(15_000)
    dashboard = Dashboard(context.new_page(), server.base_url)
    yield dashboard
    context.close()
    assert not dashboard.unexpected_errors(), "\n".join(dashboard.unexpected_errors())


def test_a_finished_job_fits_a_phone(phone: Dashboard, server: RunningServer):
    key = project_key(server)
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
    file_id = upload(client, "elle-limericks.jsonl")
    job = client.fine_tuning.jobs.create(
        model=TINY_MODEL,
        training_file=file_id,
        suffix="phone",
        metadata={"team": "mobile"},
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}},
    )
    job = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=120)
    assert job.status == "succeeded"

    phone.sign_in(key)
    page = phone.page
    row = page.get_by_role("table", name="Fine-tuning jobs").locator("tbody tr").first
    expect(row).to_contain_text(job.fine_tuned_model)
    for label in ("Job", "Status", "Base model", "Fine-tuned model", "Suffix", "Cost"):
        expect(row.locator(f"td[data-label='{label}']")).to_be_visible()
    phone.assert_fits()
    phone.assert_card_tables_keep_their_roles()
    phone.screenshot("phone-jobs")

    row.get_by_role("link").first.click()
    expect(page.locator(".status-slot")).to_have_text("succeeded")
    expect(page.locator("#loss-chart")).not_to_have_attribute("data-points", "0")
    expect(page.get_by_role("table", name="Checkpoints").locator("tbody tr")).to_have_count(2)
    for action in ("pause", "resume", "cancel"):
        expect(page.locator(f"#{action}-job")).to_be_hidden()
    phone.assert_fits()
    phone.assert_card_tables_keep_their_roles()
    phone.screenshot("phone-job")

    scale, raw = page.evaluate(LOSS_CHART)
    page.get_by_label("Log scale").check()
    page.get_by_label("Loss: smoothing").fill("0.9")
    expect(page.locator("#loss-chart output")).to_have_text("0.90")
    log_scale, smooth = page.evaluate(LOSS_CHART)
    assert (scale, log_scale) == ("linear", "logarithmic")
    assert len(smooth) == len(raw) and smooth[0] == pytest.approx(raw[0])
    assert max(smooth) - min(smooth) < max(raw) - min(raw)
