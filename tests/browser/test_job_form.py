"""The job form at jobs/new: every field the API takes, the quote before submitting, the API's
errors next to the field they name, and the job it creates."""

import re

import openai
from playwright.sync_api import expect

from tests.conftest import TINY_MODEL
from tests.support.dashboard import Dashboard, needs_chromium, on_sqlite, project_key
from tests.support.jobs import upload
from tests.support.server import RunningServer

pytestmark = [needs_chromium, on_sqlite]


def test_a_job_is_quoted_refused_where_a_field_is_wrong_and_created(
    dashboard: Dashboard, server: RunningServer
):
    key = project_key(server)
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
    validation_id = upload(client, "elle-limericks.jsonl")
    training_id = upload(client, "elle-limericks.jsonl")

    dashboard.sign_in(key)
    page = dashboard.page
    page.get_by_role("link", name="New job").click()
    expect(page).to_have_url(re.compile(r"/dashboard/jobs/new$"))
    expect(page.get_by_role("heading", name="New fine-tuning job")).to_be_focused()

    model = page.get_by_label("Base model")
    expect(model).to_have_value(TINY_MODEL)
    expect(model.locator("option").first).to_have_text(f"{TINY_MODEL} — Here (local)")
    expect(model.locator("option", has_text="gpt-4o-mini-2024-07-18")).to_have_text(
        "gpt-4o-mini-2024-07-18 — Upstream: openai"
    )
    page.get_by_label("Training file").select_option(training_id)
    expect(page.locator(".file-verdict")).to_have_text("10 examples in chat format.")

    quote = page.locator("#quote")
    expect(quote.locator("dd").first).to_have_text("10")
    expect(quote).to_contain_text("10 (auto)")
    page.get_by_label("Epochs").fill("3")
    expect(quote).not_to_contain_text("(auto)")
    expect(quote).to_contain_text("Trained tokens")

    beta = page.get_by_label("Beta")
    expect(beta).to_be_hidden()
    page.get_by_label("DPO (preference pairs)").check()
    expect(beta).to_be_visible()
    page.get_by_label("Supervised").check()
    expect(beta).to_be_hidden()

    page.get_by_label("Batch size").fill("2")
    page.get_by_label("Learning rate multiplier").fill("0.5")
    page.get_by_label("Seed").fill("7")
    page.get_by_label("Validation file").select_option(validation_id)
    page.get_by_role("button", name="Add a pair").click()
    page.get_by_label("Key").fill("team")
    page.get_by_label("Value").fill("nlp")

    # The API refuses the suffix: its message shows under the suffix, which takes the focus.
    dashboard.expect_error("the server responded with a status of 400")
    suffix = page.get_by_label("Suffix")
    suffix.fill("not a suffix!")
    page.get_by_role("button", name="Create job").click()
    suffix_error = page.locator("[data-field='job-suffix'] .field-error")
    expect(suffix_error).to_contain_text("Invalid value for 'suffix'")
    expect(suffix).to_have_attribute("aria-invalid", "true")
    expect(suffix).to_be_focused()
    expect(page).to_have_url(re.compile(r"/dashboard/jobs/new$"))
    page.evaluate("window.scrollTo(0, 0)")
    dashboard.screenshot("job-form-error")

    suffix.fill("elle")
    page.get_by_role("button", name="Create job").click()
    expect(page).to_have_url(re.compile(r"/dashboard/jobs/ftjob-\w+$"))
    job = client.fine_tuning.jobs.retrieve(page.url.rsplit("/", 1)[1])
    client.fine_tuning.jobs.cancel(job.id)
    assert (job.model, job.training_file, job.validation_file) == (TINY_MODEL, training_id, validation_id)
    assert (job.user_provided_suffix, job.seed, job.metadata) == ("elle", 7, {"team": "nlp"})
    assert job.method.type == "supervised"
    settings = job.method.supervised.hyperparameters
    assert (settings.n_epochs, settings.batch_size, settings.learning_rate_multiplier) == (3, 2, 0.5)


def test_the_form_starts_from_a_file_and_a_number_that_is_not_one_is_refused_here(
    dashboard: Dashboard, server: RunningServer
):
    key = project_key(server)
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
    file_id = upload(client, "elle-limericks.jsonl")
    dashboard.sign_in(key, f"jobs/new?training_file={file_id}&model=gpt-4o-mini-2024-07-18")
    page = dashboard.page
    expect(page.get_by_label("Training file")).to_have_value(file_id)
    expect(page.get_by_label("Base model")).to_have_value("gpt-4o-mini-2024-07-18")
    expect(page.locator("#quote")).to_contain_text("$3.00")
    dashboard.screenshot("job-form")

    epochs = page.get_by_label("Epochs")
    epochs.press_sequentially("1e")
    page.get_by_role("button", name="Create job").click()
    expect(page.locator("[data-field='job-n-epochs'] .field-error")).to_have_text(
        "Enter a number, or leave it empty."
    )
    expect(epochs).to_be_focused()
    assert list(client.fine_tuning.jobs.list()) == []
