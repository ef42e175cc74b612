"""Launching an eval run from the dashboard: a chosen model samples the items of an earlier run
with a prompt template, and the new run is shown beside that run, item by item."""

import re

import openai
from playwright.sync_api import expect

from tests.conftest import TINY_MODEL
from tests.support.dashboard import Dashboard, needs_chromium, on_sqlite, project_key
from tests.support.evals import jsonl_rows, qa_eval, wait_for_run
from tests.support.server import RunningServer

pytestmark = [needs_chromium, on_sqlite]

QUESTIONS = [("What is the capital of France?", "Paris"), ("What is the capital of Peru?", "Lima")]


def test_a_run_on_a_chosen_model_is_launched_and_compared(dashboard: Dashboard, server: RunningServer):
    key = project_key(server)
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
    evaluation = qa_eval(client, name="Capitals")
    rows = jsonl_rows([({"question": q, "answer": a}, a) for q, a in QUESTIONS])
    given = client.evals.runs.create(
        eval_id=evaluation.id,
        name="answers given",
        data_source={"type": "jsonl", "source": {"type": "file_content", "content": rows}},
    )
    wait_for_run(client, evaluation.id, given.id)

    dashboard.sign_in(key, f"evals/{evaluation.id}")
    page = dashboard.page
    page.get_by_role("link", name="New run").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/evals/{evaluation.id}/runs/new$"))
    model = page.get_by_label("Model", exact=True)
    expect(model.locator("option", has_text=TINY_MODEL)).to_have_count(1)
    expect(page.get_by_label("Items of")).to_have_value(given.id)
    expect(page.get_by_label("User message template")).to_have_value("{{item.question}}")

    # The API names the template's unknown field: the message shows under the template.
    dashboard.expect_error("the server responded with a status of 400")
    template = page.get_by_label("User message template")
    template.fill("{{item.nope}}")
    model.select_option(TINY_MODEL)
    page.get_by_label("Run name").fill("tiny")
    page.get_by_label("Max completion tokens").fill("4")
    page.get_by_role("button", name="Start run").click()
    expect(page.locator("[data-field='run-user'] .field-error")).to_contain_text("item.nope")
    expect(template).to_be_focused()
    page.evaluate("window.scrollTo(0, 0)")
    dashboard.screenshot("eval-launch")

    template.fill("Answer in one word. {{item.question}}")
    page.get_by_role("button", name="Start run").click()
    expect(page).to_have_url(
        re.compile(rf"/dashboard/evals/{evaluation.id}\?run_id={given.id}&compare=evalrun_\w+$")
    )
    launched = page.url.rsplit("=", 1)[1]
    run = wait_for_run(client, evaluation.id, launched)
    assert (run.name, run.model, run.status) == ("tiny", TINY_MODEL, "completed")
    assert run.data_source.input_messages.template[0].content.text == "Answer in one word. {{item.question}}"
    expect(page.get_by_role("heading", name="tiny")).to_be_visible()
    expect(page.locator(".report-slot")).to_contain_text("B: tiny")
    expect(page.locator(".report-slot")).not_to_contain_text("in progress")
    dashboard.screenshot("eval-launched")
