"""A project's key sees that project's jobs, files and models in the dashboard, and no other's."""

import re

import openai
from playwright.sync_api import expect

from tests.support.dashboard import Dashboard, needs_chromium, on_sqlite, project_key
from tests.support.jobs import upload
from tests.support.server import RunningServer

pytestmark = [needs_chromium, on_sqlite]


def test_another_projects_key_sees_none_of_its_objects(dashboard: Dashboard, server: RunningServer):
    owner_key = project_key(server)
    owner = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=owner_key, max_retries=0)
    file_id = upload(owner, "elle-limericks.jsonl")
    job_id = owner.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id).id
    page = dashboard.page

    dashboard.sign_in(project_key(server))
    expect(page.get_by_text("No jobs yet.")).to_be_visible()
    dashboard.go("Files")
    expect(page.get_by_text("No training files yet.")).to_be_visible()
    dashboard.go("Playground")
    expect(page.get_by_label("Base model", exact=True)).not_to_have_value("")
    expect(page.locator("#tuned-models option")).to_have_count(0)

    dashboard.expect_error(r"status of 404")
    dashboard.open(f"jobs/{job_id}")
    expect(page.get_by_role("heading", name="Job not found")).to_be_visible()
    dashboard.open(f"files/{file_id}")
    expect(page.get_by_role("alert")).to_have_text(f"This project has no training file {file_id}.")
    dashboard.screenshot("other-project")

    page.get_by_role("button", name="Sign out").click()
    dashboard.sign_in(owner_key)
    expect(page.get_by_role("row", name=re.compile(job_id))).to_be_visible()
    dashboard.go("Files")
    expect(page.get_by_role("link", name="elle-limericks.jsonl")).to_be_visible()
