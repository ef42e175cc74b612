"""Launching an eval run from the dashboard: a chosen model samples with a prompt template the
items of an earlier run, then shown beside that run item by item, or of a JSONL file chosen among
the project's or uploaded from the form."""

import json
import re

import openai
from playwright.sync_api import expect

from tests.conftest import TINY_MODEL
from tests.support.dashboard import Dashboard, needs_chromium, on_sqlite, project_key
from tests.support.evals import jsonl_rows, qa_eval, wait_for_run
from tests.support.server import RunningServer

pytestmark = [needs_chromium, on_sqlite]

QUESTIONS = [("What is the capital of France?", "Paris"), ("What is the capital of Peru?", "Lima")]


def items_file(pairs: list[tuple[str, str]]) -> bytes:
    return "\n".join(json.dumps({"item": {"question": q, "answer": a}}) for q, a in pairs).encode()


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
    expect(page.get_by_label("Items", exact=True)).to_have_value(given.id)
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


def test_a_run_samples_a_file_of_items_uploaded_or_chosen_in_the_form(
    dashboard: Dashboard, server: RunningServer
):
    key = project_key(server)
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
    evaluation = qa_eval(client, name="Capitals from files")
    dashboard.sign_in(key, f"evals/{evaluation.id}/runs/new")
    page = dashboard.page
    items = page.get_by_label("Items", exact=True)
    items_error = page.locator("[data-field='run-source'] .field-error")
    upload_status = page.locator("[data-field='run-source'] .upload-status")
    model = page.get_by_label("Model", exact=True)

    # No run and no file yet: the form asks for items beside their field.
    page.get_by_role("button", name="Start run").click()
    expect(items_error).to_have_text("Choose the items to sample, or upload a file of them.")
    expect(items).to_be_focused()

    # A file that is not JSONL is refused, the API's reason beside the items; a JSONL one is chosen.
    dashboard.expect_error("the server responded with a status of 400")
    upload = page.get_by_label("Upload a JSONL file…")
    upload.set_input_files({"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"})
    expect(upload_status).to_contain_text("Could not upload notes.txt: Invalid file format for Evals API")
    upload.set_input_files(
        {"name": "capitals.jsonl", "mimeType": "application/jsonl", "buffer": items_file(QUESTIONS)}
    )
    expect(upload_status).to_contain_text(re.compile(r"Uploaded capitals\.jsonl as file-\w+"))
    uploaded = items.input_value()
    assert uploaded.startswith("file-") and client.files.retrieve(uploaded).purpose == "evals"
    expect(items_error).to_be_hidden()
    expect(page.get_by_label("User message template")).to_have_value("{{item.question}}")
    model.select_option(TINY_MODEL)
    page.get_by_label("Run name").fill("uploaded")
    page.get_by_label("Max completion tokens").fill("4")
    page.evaluate("window.scrollTo(0, 0)")
    dashboard.screenshot("eval-launch-upload")
    page.get_by_role("button", name="Start run").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/evals/{evaluation.id}\?run_id=evalrun_\w+$"))
    run = wait_for_run(client, evaluation.id, page.url.rsplit("=", 1)[1])
    assert (run.name, run.status, run.result_counts.total) == ("uploaded", "completed", 2)
    assert (run.data_source.source.type, run.data_source.source.id) == ("file_id", uploaded)
    expect(page.get_by_role("heading", name="uploaded")).to_be_visible()

    # A file uploaded before, chosen from the list beside the runs.
    kept = client.files.create(file=("peru.jsonl", items_file(QUESTIONS[1:])), purpose="evals")
    dashboard.open(f"evals/{evaluation.id}/runs/new")
    expect(items.locator("optgroup[label='Items of a run'] option")).to_have_count(1)
    expect(items.locator("optgroup[label='Files'] option")).to_have_count(2)
    items.select_option(label=f"peru.jsonl ({kept.id})")
    model.select_option(TINY_MODEL)
    page.get_by_label("Run name").fill("chosen")
    page.get_by_label("Max completion tokens").fill("4")
    page.get_by_role("button", name="Start run").click()
    expect(page).to_have_url(re.compile(rf"/dashboard/evals/{evaluation.id}\?run_id=evalrun_\w+$"))
    run = wait_for_run(client, evaluation.id, page.url.rsplit("=", 1)[1])
    assert (run.name, run.status, run.result_counts.total) == ("chosen", "completed", 1)
    assert run.data_source.source.id == kept.id
    expect(page.get_by_role("heading", name="chosen")).to_be_visible()
    dashboard.screenshot("eval-launched-from-a-file")
