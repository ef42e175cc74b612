"""The models page: the base models that can run here and where each runs, and the project's
fine-tuned models with their checkpoints, to open in the playground, export and delete."""

import json
import re
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
from playwright.sync_api import expect

from tests.conftest import TINY_MODEL
from tests.support.dashboard import Dashboard, needs_chromium, on_sqlite, project_key
from tests.support.server import RunningServer
from tests.support.tuned_models import TunedModel, seed_tuned_model

pytestmark = [needs_chromium, on_sqlite]


def seeded(server: RunningServer, key: str, base: str, base_path: Path | None, **options) -> TunedModel:
    """`seed_tuned_model` runs an event loop of its own: in another thread than Playwright's."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(seed_tuned_model, server.settings, key, base, base_path, **options).result()


def test_models_are_listed_with_where_they_run_exported_and_deleted(
    dashboard: Dashboard, server: RunningServer, tiny_model: Path
):
    key = project_key(server)
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
    local = seeded(server, key, TINY_MODEL, tiny_model, steps=[2, 4], suffix="local")
    upstream = seeded(server, key, "gpt-4o-mini-2024-07-18", None, steps=[], suffix="far", provider="openai")

    # (Signed in here: the jobs list would quote the seeded jobs' training files, which do not exist.)
    dashboard.sign_in(key, "models")
    page = dashboard.page
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Models")).to_have_attribute(
        "aria-current", "page"
    )

    base = page.get_by_role("table", name="Base models")
    tiny_row = base.get_by_role("row").filter(has_text=TINY_MODEL)
    expect(tiny_row).to_contain_text("Here (local)")
    expect(base.get_by_role("row").filter(has_text="gpt-4o-mini-2024-07-18")).to_contain_text(
        "Upstream: openai"
    )
    expect(tiny_row.get_by_role("link", name=f"Fine-tune {TINY_MODEL}")).to_have_attribute(
        "href", f"jobs/new?model={TINY_MODEL}"
    )

    rows = page.get_by_role("list", name="Fine-tuned models").locator("> li")
    expect(rows).to_have_count(2)
    local_row = rows.filter(has_text=local.name)
    far_row = rows.filter(has_text=upstream.name)
    expect(local_row).to_contain_text(local.job_id)
    expect(far_row).to_contain_text("Weights held by openai")
    expect(local_row.get_by_role("link", name=f"Open {local.name} in the playground")).to_have_attribute(
        "href", re.compile(rf"^playground\?base={TINY_MODEL}&model=ft%3A")
    )

    local_row.locator("summary", has_text="Checkpoints").click()
    checkpoints = local_row.get_by_role("table", name=f"Checkpoints of {local.name}").locator("tbody tr")
    expect(checkpoints).to_have_count(2)
    expect(checkpoints.first).to_contain_text(local.checkpoints[4])
    page.evaluate("window.scrollTo(0, 0)")
    dashboard.screenshot("models")

    with page.expect_download() as download:
        local_row.get_by_role("button", name=f"Export {local.name}: adapter").click()
    with tarfile.open(download.value.path()) as archive:
        meta = next(member for member in archive if member.name.endswith("ftgate-export.json"))
        exported = json.loads(archive.extractfile(meta).read())
    assert (exported["model"], exported["format"]) == (local.name, "adapter")
    expect(page.locator("#models-status")).to_have_text(f"Exported the adapter of {local.name}.")

    delete = far_row.get_by_role("button", name="Delete")
    delete.click()
    expect(delete).to_have_text("Confirm delete")
    delete.click()
    expect(page.locator("#models-status")).to_have_text(f"Deleted {upstream.name}.")
    expect(rows).to_have_count(1)
    assert upstream.name not in {model.id for model in client.models.list()}

    page.set_viewport_size({"width": 390, "height": 844})
    local_row.locator("summary", has_text="Checkpoints").click()
    expect(local_row.locator("td[data-label='Checkpoint model']").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") == 0
    dashboard.screenshot("phone-models")
