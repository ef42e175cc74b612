"""The evals pages: the list, a run's report at its `report_url` (totals, pass rate per criterion,
its items a page at a time, filtered by result), and two or three runs of one eval side by side.
The data is seeded through the public API with the official SDK: jsonl runs, whose answers are
given."""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import openai
from playwright.sync_api import Locator, Page, expect

from tests.conftest import TINY_MODEL
from tests.support.dashboard import Dashboard, needs_chromium, on_sqlite, project_key
from tests.support.server import RunningServer

pytestmark = [needs_chromium, on_sqlite]

CAPITALS = [
    ("France", "Paris"),
    ("Spain", "Madrid"),
    ("Italy", "Rome"),
    ("Germany", "Berlin"),
    ("Japan", "Tokyo"),
    ("Egypt", "Cairo"),
    ("Peru", "Lima"),
    ("Kenya", "Nairobi"),
    ("Chile", "Santiago"),
    ("Norway", "Oslo"),
    ("Canada", "Ottawa"),
    ("Greece", "Athens"),
    ("Poland", "Warsaw"),
    ("Cuba", "Havana"),
    ("Nepal", "Kathmandu"),
    ("Ghana", "Accra"),
    ("Iran", "Tehran"),
    ("Mali", "Bamako"),
    ("Laos", "Vientiane"),
    ("Fiji", "Suva"),
    ("Chad", "N'Djamena"),
    ("Oman", "Muscat"),
    ("Togo", "Lome"),
    ("Qatar", "Doha"),
    ("Malta", "Valletta"),
]
CRITERIA = ("Exact answer", "Mentions answer")


def baseline_answer(index: int, capital: str) -> str:
    if index % 7 == 3:
        return "I do not know"
    if index % 4 == 0:
        return f"It is {capital}."
    return capital


def tuned_answer(index: int, capital: str) -> str:
    if index == 5:
        return "Not sure"
    if index == 10:
        return capital.lower()
    return capital


def replacement_answer(index: int, capital: str) -> str:
    if index % 5 == 2:
        return f"{capital}!"
    return capital


ANSWERS: dict[str, Callable[[int, str], str]] = {
    "baseline": baseline_answer,
    "tuned": tuned_answer,
    "replacement": replacement_answer,
}


def grades(answer: str, capital: str) -> tuple[bool, bool]:
    """What the two string checks make of an answer: `eq`, and `ilike` (contains, any case)."""
    return answer == capital, capital.lower() in answer.lower()


@dataclass(frozen=True)
class SeededRun:
    id: str
    name: str
    report_url: str
    answers: list[str]

    @property
    def grades(self) -> list[tuple[bool, bool]]:
        return [grades(answer, capital) for answer, (_, capital) in zip(self.answers, CAPITALS, strict=True)]

    @property
    def passed(self) -> int:
        return sum(all(grade) for grade in self.grades)

    def criterion_passed(self, index: int) -> int:
        return sum(grade[index] for grade in self.grades)


def percent(part: int, whole: int) -> str:
    rounded = round(part * 1000 / whole) / 10
    return f"{rounded:g}%"


def sign(difference: float) -> str:
    return "+" if difference > 0 else "−" if difference < 0 else "±"


def count_change(before: int, after: int) -> str:
    return f"{sign(after - before)}{abs(after - before)}"


def points_change(before: int, after: int, whole: int) -> str:
    """The change of `before / whole` to `after / whole` in percentage points."""
    points = round((after - before) * 1000 / whole) / 10
    return f"{sign(points)}{abs(points):g} points"


def create_eval(client: openai.OpenAI, name: str = "Capitals") -> str:
    evaluation = client.evals.create(
        name=name,
        data_source_config={
            "type": "custom",
            "item_schema": {
                "type": "object",
                "properties": {"country": {"type": "string"}, "answer": {"type": "string"}},
                "required": ["country", "answer"],
            },
            "include_sample_schema": True,
        },
        testing_criteria=[
            {
                "type": "string_check",
                "name": CRITERIA[0],
                "input": "{{sample.output_text}}",
                "reference": "{{item.answer}}",
                "operation": "eq",
            },
            {
                "type": "string_check",
                "name": CRITERIA[1],
                "input": "{{sample.output_text}}",
                "reference": "{{item.answer}}",
                "operation": "ilike",
            },
        ],
    )
    return evaluation.id


def run_to_completion(client: openai.OpenAI, eval_id: str, name: str, answers: list[str]) -> SeededRun:
    content = [
        {"item": {"country": country, "answer": capital}, "sample": {"output_text": answer}}
        for (country, capital), answer in zip(CAPITALS, answers, strict=True)
    ]
    run = client.evals.runs.create(
        eval_id,
        name=name,
        data_source={"type": "jsonl", "source": {"type": "file_content", "content": content}},
    )
    deadline = time.monotonic() + 60
    while run.status in ("queued", "in_progress"):
        assert time.monotonic() < deadline, f"run {run.id} is still {run.status} after 60s"
        time.sleep(0.2)
        run = client.evals.runs.retrieve(run.id, eval_id=eval_id)
    assert run.status == "completed", run
    return SeededRun(id=run.id, name=name, report_url=run.report_url, answers=answers)


def seed(
    server: RunningServer, names: tuple[str, ...] = ("baseline", "tuned")
) -> tuple[str, str, list[SeededRun]]:
    """A new project's key, its eval, and a completed run of it per name of `ANSWERS`, in order."""
    key = project_key(server)
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
    eval_id = create_eval(client)
    runs = [
        run_to_completion(
            client, eval_id, name, [ANSWERS[name](i, capital) for i, (_, capital) in enumerate(CAPITALS)]
        )
        for name in names
    ]
    return key, eval_id, runs


def report_path(run: SeededRun, eval_id: str) -> str:
    """The dashboard path of the run's `report_url`, which must be the report page's address."""
    url = urlsplit(run.report_url)
    assert url.path == f"/dashboard/evals/{eval_id}", run.report_url
    assert url.query == f"run_id={run.id}", run.report_url
    return f"evals/{eval_id}?{url.query}"


def row_cells(rows: Locator) -> list[list[str]]:
    """Each row's cells as text (textContent: what the page says, before CSS capitalises it)."""
    return rows.evaluate_all("(rows) => rows.map((row) => [...row.cells].map((cell) => cell.textContent))")


def grader_text(grade: tuple[bool, bool]) -> str:
    return "".join(
        f"{name}{int(passed)}{'passed' if passed else 'failed'}"
        for name, passed in zip(CRITERIA, grade, strict=True)
    )


def fits_the_window(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def expect_stat(page: Page, name: str, value: str) -> None:
    expect(page.locator(f'#run-totals [data-stat="{name}"] dd')).to_have_text(value)


def test_a_run_report_shows_totals_rates_and_every_item(dashboard: Dashboard, server: RunningServer):
    key, eval_id, (baseline, _) = seed(server)
    page = dashboard.page
    dashboard.sign_in(key, report_path(baseline, eval_id))

    expect(page.get_by_role("heading", name="Capitals", level=1)).to_be_visible()
    criteria = page.get_by_role("table", name="Testing criteria")
    expect(criteria.locator("tbody tr")).to_have_count(2)
    expect(criteria.locator("tbody tr").first).to_contain_text("{{sample.output_text}} eq {{item.answer}}")
    expect(page.get_by_role("heading", name="baseline", level=2)).to_be_visible()
    expect(page.locator(".run-heading .badge")).to_have_text("completed")
    total = len(CAPITALS)
    expect_stat(page, "passed", str(baseline.passed))
    expect_stat(page, "failed", str(total - baseline.passed))
    expect_stat(page, "errored", "0")
    expect_stat(page, "total", str(total))
    expect_stat(page, "pass-rate", percent(baseline.passed, total))

    rates = page.get_by_role("table", name="Pass rate per criterion").locator("tbody tr")
    expect(rates).to_have_count(2)
    for index, name in enumerate(CRITERIA):
        passed = baseline.criterion_passed(index)
        expect(rates.nth(index).locator("td")).to_have_text(
            [name, str(passed), str(total - passed), percent(passed, total)]
        )
    expect(page.get_by_text("No model was called in this run.")).to_be_visible()

    # Every item once, over two pages: its fields, the answer given, and each grader's verdict.
    rows = page.get_by_role("table", name="Output items").locator("tbody tr")
    expect(rows).to_have_count(20)
    assert fits_the_window(page)
    dashboard.screenshot("eval-run")
    shown = row_cells(rows)
    page.get_by_role("button", name="Next").click()
    expect(rows).to_have_count(total - 20)
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    shown += row_cells(rows)
    assert sorted(int(cells[0]) for cells in shown) == list(range(total))
    for item_id, result, fields, output, graders in shown:
        index = int(item_id)
        country, capital = CAPITALS[index]
        grade = baseline.grades[index]
        assert result == ("pass" if all(grade) else "fail"), (index, result)
        # PostgreSQL's jsonb keeps an item's fields in its own key order.
        assert fields in (f"country{country}answer{capital}", f"answer{capital}country{country}"), fields
        assert output == baseline.answers[index]
        assert graders == grader_text(grade), (index, graders)
    page.get_by_role("button", name="Previous").click()
    expect(rows).to_have_count(20)

    # Only the failed items, then only the passed ones.
    page.get_by_label("Show").select_option("fail")
    expect(rows).to_have_count(total - baseline.passed)
    expect(rows.locator("td:nth-child(2)")).to_have_text(["fail"] * (total - baseline.passed))
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    page.get_by_label("Show").select_option("pass")
    expect(rows).to_have_count(baseline.passed)
    passed_ids = {int(cells[0]) for cells in row_cells(rows)}
    assert passed_ids == {i for i, grade in enumerate(baseline.grades) if all(grade)}


def item_id(cells: list[str]) -> int:
    """The item's id from its first cell, which also says "differs" when the runs disagree."""
    return int(re.match(r"\d+", cells[0])[0])


def side_text(run: SeededRun, index: int) -> str:
    grade = run.grades[index]
    return f"{'pass' if all(grade) else 'fail'}{run.answers[index]}{grader_text(grade)}"


def expect_totals(page: Page, caption: str, runs: list[SeededRun]) -> None:
    """Each run's totals, then each later run's change from the first."""
    total = len(CAPITALS)
    rows = page.get_by_role("table", name=caption).locator("tbody tr")

    def cells(values: list[int], show: Callable[[int], str], change: Callable[[int, int], str]) -> list[str]:
        return [show(value) for value in values] + [change(values[0], value) for value in values[1:]]

    passed = [run.passed for run in runs]
    expect(rows.nth(0).locator("td")).to_have_text(cells(passed, str, count_change))
    expect(rows.nth(1).locator("td")).to_have_text(cells([total - p for p in passed], str, count_change))
    expect(rows.nth(2).locator("td")).to_have_text(cells([0] * len(runs), str, count_change))
    expect(rows.nth(3).locator("td")).to_have_text(cells([total] * len(runs), str, count_change))
    expect(rows.nth(4).locator("td")).to_have_text(
        cells(passed, lambda p: percent(p, total), lambda a, b: points_change(a, b, total))
    )


def expect_criterion_rates(page: Page, caption: str, runs: list[SeededRun]) -> None:
    """Each criterion's pass rate and count in each run, then each later run's change from the first."""
    total = len(CAPITALS)
    rates = page.get_by_role("table", name=caption).locator("tbody tr")
    expect(rates).to_have_count(len(CRITERIA))
    for index, name in enumerate(CRITERIA):
        passed = [run.criterion_passed(index) for run in runs]
        expect(rates.nth(index).locator("td")).to_have_text(
            [name]
            + [f"{percent(p, total)}{p} of {total}" for p in passed]
            + [points_change(passed[0], p, total) for p in passed[1:]]
        )


def expect_items_side_by_side(
    dashboard: Dashboard, caption: str, runs: list[SeededRun], screenshot: str
) -> None:
    """Every item once, over two pages, in item order, each run's verdict, answer and grades side by
    side; then only those on which the runs' verdicts differ."""
    page = dashboard.page
    total = len(CAPITALS)
    rows = page.get_by_role("table", name=caption).locator("tbody tr")
    expect(rows).to_have_count(20)
    assert fits_the_window(page)
    dashboard.screenshot(screenshot)
    shown = row_cells(rows)
    page.get_by_role("button", name="Next").click()
    expect(rows).to_have_count(total - 20)
    shown += row_cells(rows)
    assert [item_id(cells) for cells in shown] == list(range(total))
    for index, (_, fields, *sides) in enumerate(shown):
        assert CAPITALS[index][0] in fields
        assert sides == [side_text(run, index) for run in runs], (index, sides)

    differing = [i for i in range(total) if len({all(run.grades[i]) for run in runs}) > 1]
    page.get_by_label("Show").select_option("differ")
    expect(rows).to_have_count(len(differing))
    assert [cells[0] for cells in row_cells(rows)] == [f"{i}differs" for i in differing]


def test_two_runs_side_by_side(dashboard: Dashboard, server: RunningServer):
    key, eval_id, (baseline, tuned) = seed(server)
    page = dashboard.page
    dashboard.sign_in(key, report_path(baseline, eval_id))

    runs = page.get_by_role("table", name="Runs").locator("tbody tr")
    expect(runs).to_have_count(2)
    expect(runs.first).to_contain_text("tuned")
    expect(runs.first).to_contain_text(f"{tuned.passed} / {len(CAPITALS)}")
    expect(runs.last).to_contain_text(f"{baseline.passed} / {len(CAPITALS)}")
    page.get_by_label("Compare with").select_option(tuned.id)
    expect(page).to_have_url(
        re.compile(rf"/dashboard/evals/{eval_id}\?run_id={baseline.id}&compare={tuned.id}$")
    )
    expect(page.get_by_role("heading", name="Run A: baseline")).to_be_visible()
    expect(page.get_by_role("heading", name="Run B: tuned")).to_be_visible()
    expect(runs.first.locator(".badge.compared")).to_have_text("compared")

    expect_totals(page, "Totals of both runs", [baseline, tuned])
    expect_criterion_rates(page, "Pass rate per criterion in both runs", [baseline, tuned])
    expect_items_side_by_side(dashboard, "Items of both runs", [baseline, tuned], "eval-compare")

    # Back to one run: the control offers "no other run".
    page.get_by_label("Compare with").select_option("")
    expect(page).to_have_url(re.compile(rf"\?run_id={baseline.id}$"))
    expect(page.get_by_role("table", name="Output items")).to_be_visible()


def test_three_runs_side_by_side(dashboard: Dashboard, server: RunningServer):
    key, eval_id, runs = seed(server, ("baseline", "tuned", "replacement"))
    baseline, tuned, replacement = runs
    lettered = list(zip("ABC", runs, strict=True))
    page = dashboard.page
    # As the OpenAI comparison links to its eval: the first run compared with the others (one
    # named twice here, which shows it once).
    compared = f"compare={tuned.id}&compare={replacement.id}&compare={tuned.id}"
    dashboard.sign_in(key, f"evals/{eval_id}?run_id={baseline.id}&{compared}")

    cards = page.locator(".compare-headings .run-side")
    expect(cards).to_have_count(3)
    for index, (letter, run) in enumerate(lettered):
        card = cards.nth(index)
        expect(card.locator(".side-letter")).to_have_text(letter)
        expect(card.get_by_role("heading", name=f"Run {letter}: {run.name}")).to_be_visible()
        expect(card).to_contain_text(run.id)
    listed = page.get_by_role("table", name="Runs", exact=True).locator("tbody tr")
    expect(listed).to_have_count(3)
    expect(listed.filter(has=page.locator(".badge.compared"))).to_have_count(2)
    expect(listed.filter(has=page.locator('a[aria-current="true"]'))).to_contain_text(baseline.id)
    expect(page.get_by_label("Compare with").locator("option:checked")).to_have_text("2 runs")

    totals = page.get_by_role("table", name="Totals of all 3 runs")
    expect(totals.locator("thead th")).to_have_text(
        ["Result", *(f"{letter}: {run.name} {run.id}" for letter, run in lettered), "B − A", "C − A"]
    )
    expect_totals(page, "Totals of all 3 runs", runs)
    expect_criterion_rates(page, "Pass rate per criterion in all 3 runs", runs)
    items = page.get_by_role("table", name="Items of all 3 runs")
    expect(items.locator("thead th")).to_have_text(
        ["Item", "Fields", *(f"{letter}: {run.name}" for letter, run in lettered)]
    )
    expect_items_side_by_side(dashboard, "Items of all 3 runs", runs, "eval-compare-three")

    # Choosing one run from the control compares with that one alone.
    page.get_by_label("Compare with").select_option(replacement.id)
    expect(page).to_have_url(re.compile(rf"\?run_id={baseline.id}&compare={replacement.id}$"))
    expect(page.get_by_role("heading", name="Run B: replacement")).to_be_visible()
    expect(cards).to_have_count(2)


# Slow on purpose, so that the page meets the run before it ends: python graders run two at a time.
SLOW_GRADER = "import time\n\ndef grade(sample, item):\n    time.sleep(1)\n    return 1.0\n"


def test_a_running_run_is_followed_until_it_completes(dashboard: Dashboard, server: RunningServer):
    key = project_key(server)
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
    eval_id = client.evals.create(
        name="Slow capitals",
        data_source_config={
            "type": "custom",
            "item_schema": {"type": "object", "properties": {"country": {"type": "string"}}},
        },
        testing_criteria=[
            {"type": "python", "name": "Patient", "source": SLOW_GRADER, "pass_threshold": 0.5}
        ],
    ).id
    countries = [country for country, _ in CAPITALS[:10]]
    run = client.evals.runs.create(
        eval_id,
        name="sampled",
        data_source={
            "type": "completions",
            "model": TINY_MODEL,
            "input_messages": {
                "type": "template",
                "template": [{"role": "user", "content": "What is the capital of {{item.country}}?"}],
            },
            "sampling_params": {"max_completion_tokens": 8, "temperature": 0},
            "source": {"type": "file_content", "content": [{"item": {"country": c}} for c in countries]},
        },
    )
    page = dashboard.page
    dashboard.sign_in(key, f"evals/{eval_id}?run_id={run.id}")
    status = page.locator(".run-heading .badge")
    expect(status).to_have_text(re.compile(r"^(queued|in progress)$"))
    expect(status).to_have_text("completed", timeout=90_000)

    done = client.evals.runs.retrieve(run.id, eval_id=eval_id)
    assert done.result_counts.total == len(countries)
    expect_stat(page, "total", str(len(countries)))
    expect_stat(page, "passed", str(done.result_counts.passed))
    usage = page.get_by_role("table", name="Model usage").locator("tbody tr")
    expect(usage).to_have_count(1)
    expect(usage.locator("td").first).to_have_text(TINY_MODEL)
    expect(usage.locator("td").nth(1)).to_have_text(str(len(countries)))
    rows = page.get_by_role("table", name="Output items").locator("tbody tr")
    expect(rows).to_have_count(len(countries))
    # A sampled run shows what the model was asked, beside its answer.
    expect(rows.first.locator("td").nth(3)).to_contain_text("What is the capital of")
    dashboard.screenshot("eval-run-sampled")


def test_evals_list_leads_to_the_newest_run(dashboard: Dashboard, server: RunningServer):
    key, eval_id, (_, tuned) = seed(server)
    page = dashboard.page
    dashboard.sign_in(key)
    dashboard.go("Evals")
    expect(page).to_have_url(re.compile(r"/dashboard/evals$"))
    rows = page.get_by_role("table", name="Evals").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td")).to_contain_text(["Capitals", eval_id, re.compile(r"\d"), "2"])
    dashboard.screenshot("evals")

    page.get_by_role("link", name="Capitals").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/evals/{eval_id}$"))
    expect(page.get_by_role("heading", name="tuned", level=2)).to_be_visible()
    expect(page.locator('#run-totals [data-stat="passed"] dd')).to_have_text(str(tuned.passed))


def test_another_projects_eval_is_not_found(dashboard: Dashboard, server: RunningServer):
    _, eval_id, _ = seed(server)
    dashboard.expect_error(r"status of 404")
    dashboard.sign_in(project_key(server), f"evals/{eval_id}")
    expect(dashboard.page.get_by_role("heading", name="Eval not found")).to_be_visible()
    dashboard.go("Evals")
    expect(dashboard.page.get_by_text("No evals yet.")).to_be_visible()
