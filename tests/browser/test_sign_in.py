"""Signing in: the key is checked, kept in the tab's session storage, and forgotten on sign-out."""

import re

from playwright.sync_api import expect

from tests.support.dashboard import Dashboard, needs_chromium, on_sqlite, project_key
from tests.support.server import RunningServer

pytestmark = [needs_chromium, on_sqlite]

STORED_KEY = "sessionStorage.getItem('ftgate.apiKey')"


def test_a_key_signs_in_and_out(dashboard: Dashboard, server: RunningServer):
    key = project_key(server)
    page = dashboard.page
    dashboard.open("jobs")
    expect(page).to_have_url(re.compile(r"/dashboard/sign-in\?next=jobs$"))
    expect(page.get_by_role("heading", name="Sign in to the dashboard")).to_be_visible()
    expect(page.locator("header.topbar")).to_be_hidden()
    dashboard.screenshot("sign-in")

    dashboard.expect_error(r"status of 401")
    page.get_by_label("API key").fill("sk-ftg-not-a-key-at-all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That key was not accepted. Check it and try again.")
    assert page.evaluate(STORED_KEY) is None

    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/jobs$"))
    expect(page.get_by_role("heading", name="Fine-tuning jobs")).to_be_visible()
    expect(page.get_by_text("No jobs yet.")).to_be_visible()
    assert page.evaluate(STORED_KEY) == key

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/dashboard/sign-in$"))
    assert page.evaluate(STORED_KEY) is None


def test_the_dashboard_is_served_without_a_key_and_without_a_cdn(dashboard: Dashboard):
    loaded: list[str] = []
    dashboard.page.on("request", lambda request: loaded.append(request.url))
    dashboard.open()
    expect(dashboard.page.get_by_label("API key")).to_be_visible()
    expect(dashboard.page.locator("html")).to_have_attribute("lang", "en")
    assert dashboard.page.evaluate("typeof window.Chart") == "function"
    assert loaded and all(url.startswith(dashboard.base_url) for url in loaded), loaded
