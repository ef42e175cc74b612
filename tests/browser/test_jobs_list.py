"""The jobs list: newest first, twenty to a page with `after` cursors, filtered by status."""

import re

import openai
from playwright.sync_api import expect

from tests.support.dashboard import Dashboard, needs_chromium, on_sqlite, project_key
from tests.support.jobs import upload
from tests.support.server import RunningServer

pytestmark = [needs_chromium, on_sqlite]


def test_jobs_are_paged_newest_first_and_filtered_by_status(dashboard: Dashboard, server: RunningServer):
    key = project_key(server)
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
    file_id = upload(client, "elle-limericks.jsonl")
    # Jobs on an OpenAI model wait in the queue here (no upstream is configured): nothing trains.
    jobs = [
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id, suffix=f"run-{n}").id
        for n in range(23)
    ]
    for job_id in jobs[:2]:
        client.fine_tuning.jobs.cancel(job_id)

    dashboard.sign_in(key)
    page = dashboard.page
    rows = page.get_by_role("table", name="Fine-tuning jobs").locator("tbody tr")
    older = page.get_by_role("button", name="Older")
    newer = page.get_by_role("button", name="Newer")
    expect(rows).to_have_count(20)
    expect(rows.first).to_contain_text(jobs[22])
    expect(rows.first).to_contain_text("run-22")
    expect(newer).to_be_disabled()
    dashboard.screenshot("jobs-list")

    older.click()
    expect(rows).to_have_count(3)
    expect(rows.last).to_contain_text(jobs[0])
    expect(older).to_be_disabled()
    newer.click()
    expect(rows).to_have_count(20)
    expect(rows.first).to_contain_text(jobs[22])

    page.get_by_label("Status").select_option("cancelled")
    expect(page).to_have_url(re.compile(r"/dashboard/jobs\?status=cancelled$"))
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(jobs[1])
    expect(rows.last).to_contain_text(jobs[0])
    page.get_by_label("Status").select_option("succeeded")
    expect(page.get_by_text("No succeeded jobs.")).to_be_visible()


def test_jobs_are_found_by_model_suffix_and_metadata(dashboard: Dashboard, server: RunningServer):
    key = project_key(server)
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
    file_id = upload(client, "elle-limericks.jsonl")
    made = {
        (model, suffix, team): client.fine_tuning.jobs.create(
            model=model, training_file=file_id, suffix=suffix, metadata={"team": team}
        ).id
        for model, suffix, team in [
            ("gpt-4o-mini", "alpha", "nlp"),
            ("gpt-4.1-nano", "beta", "nlp"),
            ("gpt-4.1-nano", "alphabet", "vision"),
        ]
    }

    dashboard.sign_in(key)
    page = dashboard.page
    table = page.get_by_role("table", name="Fine-tuning jobs")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(table.get_by_role("columnheader", name="Fine-tuned model")).to_be_visible()

    page.get_by_label("Search").fill("alpha")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/dashboard/jobs\?q=alpha$"))
    expect(rows).to_have_count(2)
    page.get_by_label("Metadata").fill("team=vision")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(made[("gpt-4.1-nano", "alphabet", "vision")])

    page.get_by_label("Search").fill("nano")
    page.get_by_label("Metadata").fill("team=nlp")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(made[("gpt-4.1-nano", "beta", "nlp")])
    dashboard.screenshot("jobs-filtered")

    page.get_by_label("Metadata").fill("team")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("Write metadata as key=value")).to_be_visible()
    expect(page.get_by_label("Metadata")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Search").fill("nobody")
    page.get_by_label("Metadata").fill("")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No jobs match these filters.")).to_be_visible()
