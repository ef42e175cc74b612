"""Pause, resume and cancel from the job page, each enabled only where the job's status allows it,
and none shown once the job has finished."""

import openai
from playwright.sync_api import expect

from tests.conftest import TINY_MODEL
from tests.support.dashboard import Dashboard, needs_chromium, on_sqlite, project_key
from tests.support.jobs import many_examples, upload
from tests.support.server import RunningServer

pytestmark = [needs_chromium, on_sqlite]


def test_pause_resume_and_cancel_follow_the_status(dashboard: Dashboard, server: RunningServer):
    key = project_key(server)
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
    file_id = upload(client, "long.jsonl", many_examples(100))
    job_id = client.fine_tuning.jobs.create(
        model=TINY_MODEL,
        training_file=file_id,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 5}}},
    ).id
    dashboard.sign_in(key, f"jobs/{job_id}")
    page = dashboard.page
    status = page.locator(".status-slot")
    pause, resume, cancel = (page.locator(f"#{action}-job") for action in ("pause", "resume", "cancel"))

    pause.click()
    expect(status).to_have_text("paused")
    expect(resume).to_be_enabled()
    expect(pause).to_be_disabled()
    expect(page.locator("#events")).to_contain_text("Fine-tuning job paused")
    expect(page.locator(".job-details")).to_contain_text("None while paused")

    resume.click()
    expect(status).not_to_have_text("paused")
    expect(page.locator("#events")).to_contain_text("Fine-tuning job resumed")
    expect(pause).to_be_enabled()

    cancel.click()
    expect(cancel).to_have_text("Confirm cancel")
    cancel.click()
    expect(status).to_have_text("cancelled", timeout=30_000)
    for button in (pause, resume, cancel):
        expect(button).to_be_hidden()
