"""The dashboard in a real headless Chromium (Debian's, never a downloaded one), driven by
Playwright: sign-in, screenshots, and every console error or uncaught page error it logs."""

import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Error, Page, expect

from tests.support.server import RunningServer

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

# Browser test modules carry both: Chromium or a clear skip, and one database (the dashboard
# calls the same API on either, which the contract tests cover on both).
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"Debian's chromium is not installed at {CHROMIUM} (.ci/run installs it)"
)
on_sqlite = pytest.mark.parametrize("server", ["sqlite"], indirect=True)

PHONE = {"width": 390, "height": 844}
PAST_THE_RIGHT_EDGE = """() => [...document.querySelectorAll("body *")]
    .filter((node) => node.getClientRects().length)
    .filter((node) => node.getBoundingClientRect().right > innerWidth + 0.5)
    .filter((node) => !node.closest(".visually-hidden, thead, [aria-hidden='true']"))
    .map((node) => node.tagName + "." + node.className)"""
# How many tables are shown as cards (displayed as blocks), and each of their parts that lacks the
# ARIA role which keeps it a table for screen readers.
CARD_TABLE_PARTS_WITHOUT_ROLES = """() => {
    const roles = {TABLE: "table", THEAD: "rowgroup", TBODY: "rowgroup", TR: "row", TH: "columnheader",
                   TD: "cell"};
    const cards = [...document.querySelectorAll("table")]
        .filter((table) => getComputedStyle(table).display === "block");
    const parts = (table) => [table, ...table.querySelectorAll("thead, tbody, tr, th, td")];
    return [cards.length, cards.flatMap((table) => parts(table)
        .filter((part) => part.getAttribute("role") !== roles[part.tagName])
        .map((part) => `${part.tagName} of ${table.caption?.textContent ?? "a table"}`))];
}"""


def project_key(server: RunningServer) -> str:
    """A new project's key. `create_key` runs an event loop of its own, which must be in another
    thread: Playwright's sync API keeps one running in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(server.create_key, f"project-{secrets.token_hex(4)}").result()


@dataclass
class Dashboard:
    page: Page
    base_url: str
    errors: list[str] = field(default_factory=list)
    expected_errors: list[re.Pattern[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", self._on_page_error)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def _on_page_error(self, error: Error) -> None:
        self.errors.append(f"page error: {error.message}")

    def expect_error(self, pattern: str) -> None:
        """A console error this test provokes on purpose (the browser logs every 4xx it loads)."""
        self.expected_errors.append(re.compile(pattern))

    def unexpected_errors(self) -> list[str]:
        return [error for error in self.errors if not any(p.search(error) for p in self.expected_errors)]

    def open(self, path: str = "") -> None:
        self.page.goto(f"{self.base_url}/dashboard/{path}")

    def sign_in(self, key: str, path: str = "") -> None:
        self.open(path)
        self.page.get_by_label("API key").fill(key)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.locator("header.topbar")).to_be_visible()

    def go(self, section: str) -> None:
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name=section).click()

    def assert_fits(self) -> None:
        """The page never scrolls sideways, and nothing on it, top bar included, reaches past the
        right edge (hidden in a box that scrolls or clips it)."""
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= self.page.viewport_size["width"], "the page scrolls sideways"
        overflowing = self.page.evaluate(PAST_THE_RIGHT_EDGE)
        assert overflowing == [], overflowing

    def assert_card_tables_keep_their_roles(self, at_least: int = 1) -> None:
        cards, without_roles = self.page.evaluate(CARD_TABLE_PARTS_WITHOUT_ROLES)
        assert cards >= at_least, f"{cards} tables shown as cards"
        assert without_roles == [], without_roles

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=path, full_page=True)
        return path
