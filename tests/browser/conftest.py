"""A headless Chromium per test module, and a fresh browser context (own session storage) per
test. Module scope keeps the browser younger than the session's server: Playwright's sync API
runs an event loop in this thread, and the server's setup runs one of its own."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.dashboard import CHROMIUM, Dashboard
from tests.support.server import RunningServer


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture
def dashboard(browser: Browser, server: RunningServer) -> Iterator[Dashboard]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    dashboard = Dashboard(context.new_page(), server.base_url)
    yield dashboard
    context.close()
    assert not dashboard.unexpected_errors(), "\n".join(dashboard.unexpected_errors())
