"""The evals pages: the list, a run's report at its `report_url` (totals, pass rate per criterion,
its items a page at a time, filtered by result), and two runs of one eval side by side. The data
is seeded through the public API with the official SDK: jsonl runs, whose answers are given."""

import re
import time
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


def seed(server: RunningServer) -> tuple[str, str, SeededRun, SeededRun]:
    key = project_key(server)
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
    eval_id = create_eval(client)
    baseline = run_to_completion(
        client, eval_id, "baseline", [baseline_answer(i, capital) for i, (_, capital) in enumerate(CAPITALS)]
    )
    tuned = run_to_completion(
        client, eval_id, "tuned", [tuned_answer(i, capital) for i, (_, capital) in enumerate(CAPITALS)]
    )
    return key, eval_id, baseline, tuned


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
    key, eval_id, baseline, _ = seed(server)
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
        assert fields == f"country{country}answer{capital}", fields
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


def test_two_runs_side_by_side(dashboard: Dashboard, server: RunningServer):
    key, eval_id, baseline, tuned = seed(server)
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

    total = len(CAPITALS)

    def change(before: int, after: int) -> str:
        difference = after - before
        return f"{'+' if difference > 0 else '−' if difference < 0 else '±'}{abs(difference)}"

    totals = page.get_by_role("table", name="Totals of both runs").locator("tbody tr")
    expect(totals.nth(0).locator("td")).to_have_text(
        [str(baseline.passed), str(tuned.passed), change(baseline.passed, tuned.passed)]
    )
    expect(totals.nth(1).locator("td")).to_have_text(
        [
            str(total - baseline.passed),
            str(total - tuned.passed),
            change(total - baseline.passed, total - tuned.passed),
        ]
    )
    expect(totals.nth(3).locator("td")).to_have_text([str(total), str(total), "±0"])
    expect(totals.nth(4).locator("td").nth(0)).to_have_text(percent(baseline.passed, total))
    expect(totals.nth(4).locator("td").nth(1)).to_have_text(percent(tuned.passed, total))

    rates = page.get_by_role("table", name="Pass rate per criterion in both runs").locator("tbody tr")
    for index, name in enumerate(CRITERIA):
        before, after = baseline.criterion_passed(index), tuned.criterion_passed(index)
        cells = rates.nth(index).locator("td")
        expect(cells.nth(0)).to_have_text(name)
        expect(cells.nth(1)).to_have_text(f"{percent(before, total)}{before} of {total}")
        expect(cells.nth(2)).to_have_text(f"{percent(after, total)}{after} of {total}")

    # The items matched by their data source item, in its order, the two answers side by side.
    rows = page.get_by_role("table", name="Items of both runs").locator("tbody tr")
    expect(rows).to_have_count(20)
    assert fits_the_window(page)
    dashboard.screenshot("eval-compare")
    shown = row_cells(rows)
    page.get_by_role("button", name="Next").click()
    expect(rows).to_have_count(total - 20)
    shown += row_cells(rows)
    assert [int(re.match(r"\d+", cells[0])[0]) for cells in shown] == list(range(total))
    for index, (_, fields, first, second) in enumerate(shown):
        country, _ = CAPITALS[index]
        assert country in fields
        for run, cell in ((baseline, first), (tuned, second)):
            grade = run.grades[index]
            verdict = "pass" if all(grade) else "fail"
            assert cell == f"{verdict}{run.answers[index]}{grader_text(grade)}", (index, cell)

    differing = [i for i in range(total) if all(baseline.grades[i]) != all(tuned.grades[i])]
    page.get_by_label("Show").select_option("differ")
    expect(rows).to_have_count(len(differing))
    assert [int(re.match(r"\d+", cells[0])[0]) for cells in row_cells(rows)] == differing

    # Back to one run: the control offers "no other run".
    page.get_by_label("Compare with").select_option("")
    expect(page).to_have_url(re.compile(rf"\?run_id={baseline.id}$"))
    expect(page.get_by_role("table", name="Output items")).to_be_visible()


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
    key, eval_id, _, tuned = seed(server)
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
    _, eval_id, _, _ = seed(server)
    dashboard.expect_error(r"status of 404")
    dashboard.sign_in(project_key(server), f"evals/{eval_id}")
    expect(dashboard.page.get_by_role("heading", name="Eval not found")).to_be_visible()
    dashboard.go("Evals")
    expect(dashboard.page.get_by_text("No evals yet.")).to_be_visible()
