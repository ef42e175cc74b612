"""The files page: upload by file picker or drag and drop, the validation report with its
problems by line, a cost quote per base model, and delete."""

import re

from playwright.sync_api import Locator, expect

from tests.conftest import DATA
from tests.support.dashboard import Dashboard, needs_chromium, on_sqlite, project_key
from tests.support.server import RunningServer

pytestmark = [needs_chromium, on_sqlite]

ELLE_FILE = DATA / "elle-limericks.jsonl"
# What a browser does when a file is dragged from the desktop onto the drop zone.
DROP_FILE = """([name, text]) => {
    const data = new DataTransfer();
    data.items.add(new File([text], name, { type: "application/jsonl" }));
    const zone = document.getElementById("dropzone");
    for (const type of ["dragenter", "dragover", "drop"]) {
        zone.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
    }
}"""


def fact(scope: Locator, term: str) -> Locator:
    """The value of the `<dt>term</dt><dd>value</dd>` pair in `scope`."""
    return (
        scope.locator("dl > div")
        .filter(has=scope.page.locator("dt", has_text=re.compile(f"^{term}$")))
        .locator("dd")
    )


def test_an_uploaded_file_shows_its_report_and_a_quote(dashboard: Dashboard, server: RunningServer):
    dashboard.sign_in(project_key(server), "files")
    page = dashboard.page
    expect(page.get_by_text("No training files yet.")).to_be_visible()
    page.locator("#upload-input").set_input_files(ELLE_FILE)

    expect(page).to_have_url(re.compile(r"/dashboard/files/file-\w+$"))
    file_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#upload-status")).to_have_text(
        f"Uploaded elle-limericks.jsonl as {file_id} ({ELLE_FILE.stat().st_size / 1024:.1f} KB)."
    )
    report = page.locator("#validation-report")
    expect(report.get_by_text("Ready to train: 10 examples in chat format.")).to_be_visible()
    expect(fact(report, "Examples")).to_have_text("10")
    expect(fact(report, "Invalid lines")).to_have_text("0")
    expect(fact(report, "Encoding")).to_have_text("o200k_base")

    quote = page.locator("#quote")
    expect(page.get_by_label("Base model", exact=True)).to_have_value("tiny-chat")
    expect(fact(quote, "Examples")).to_have_text("10")
    expect(fact(quote, "Epochs")).to_have_text("10 (auto)")
    expect(fact(quote, "Estimated cost")).to_have_text("$0.00")
    per_epoch = int(fact(quote, "Tokens per epoch").inner_text().replace(",", ""))

    page.get_by_label("Epochs").fill("3")
    expect(fact(quote, "Epochs")).to_have_text("3")
    expect(fact(quote, "Trained tokens")).to_have_text(f"{3 * per_epoch:,}")
    page.get_by_label("Base model", exact=True).select_option("gpt-4o-mini-2024-07-18")
    expect(fact(quote, "Price per 1M tokens")).to_have_text("$3.00")

    files = page.get_by_role("table", name="Training files")
    expect(files.get_by_role("row")).to_have_count(2)
    expect(files.get_by_role("link", name="elle-limericks.jsonl")).to_have_attribute("aria-current", "true")
    expect(files.locator("td[data-label='Validation']")).to_have_text("Ready")
    dashboard.screenshot("files-report")


def test_a_dropped_file_shows_its_problems_by_line_and_can_be_deleted(
    dashboard: Dashboard, server: RunningServer
):
    dashboard.sign_in(project_key(server), "files")
    page = dashboard.page
    broken = ELLE_FILE.read_text().rstrip("\n") + "\n{not json\n"
    page.evaluate(DROP_FILE, ["broken.jsonl", broken])

    report = page.locator("#validation-report")
    expect(report.get_by_text("1 of 11 lines have problems; a job on this file would fail.")).to_be_visible()
    expect(fact(report, "Examples")).to_have_text("10")
    problems = page.get_by_role("table", name="Problems by line")
    expect(problems.get_by_role("row")).to_have_count(2)
    expect(problems.get_by_role("row").nth(1).get_by_role("cell").first).to_have_text("11")
    dashboard.screenshot("files-problems")

    files = page.get_by_role("table", name="Training files")
    expect(files.locator("td[data-label='Validation']")).to_have_text("1 problem")
    delete = files.get_by_role("row", name=re.compile("broken.jsonl")).get_by_role("button")
    delete.click()
    expect(delete).to_have_text("Confirm delete")
    delete.click()
    expect(page).to_have_url(re.compile(r"/dashboard/files$"))
    expect(page.get_by_text("No training files yet.")).to_be_visible()
