"""The Evals API through the official SDK: evals, runs, output items, on both databases; every
response body is checked against the spec by the wire checker."""

import openai
import pytest

from tests.conftest import TINY_MODEL
from tests.support.evals import CLOSE_TO_ANSWER, CONTAINS_ANSWER, QA_SCHEMA, jsonl_rows, qa_eval, wait_for_run

ITEMS = [
    ({"question": "Capital of France?", "answer": "Paris"}, "It is paris."),
    ({"question": "Capital of Italy?", "answer": "Rome"}, "Rome"),
    ({"question": "Capital of Spain?", "answer": "Madrid"}, "Barcelona"),
]


def test_create_retrieve_update_list_delete(client: openai.OpenAI):
    created = qa_eval(client, name="capitals")
    assert created.id.startswith("eval_") and created.name == "capitals"
    assert created.data_source_config.schema_["properties"]["item"] == QA_SCHEMA
    labels = [criterion.id for criterion in created.testing_criteria]
    assert labels[0].startswith("contains answer-") and labels[1].startswith("close to answer-")
    assert client.evals.retrieve(created.id).testing_criteria[0].id == labels[0]
    updated = client.evals.update(created.id, name="renamed", metadata={"team": "support"})
    assert (updated.name, updated.metadata) == ("renamed", {"team": "support"})
    second = qa_eval(client, name="second")
    assert [item.id for item in client.evals.list()] == [created.id, second.id]
    assert [item.id for item in client.evals.list(order="desc")] == [second.id, created.id]
    page = client.evals.list(limit=1)
    assert page.has_more and page.data[0].id == created.id
    deleted = client.evals.delete(created.id)
    assert deleted.deleted and deleted.eval_id == created.id
    with pytest.raises(openai.NotFoundError):
        client.evals.retrieve(created.id)


def test_jsonl_run_counts_and_items(client: openai.OpenAI):
    created = qa_eval(client)
    run = client.evals.runs.create(
        created.id,
        name="given samples",
        data_source={"type": "jsonl", "source": {"type": "file_content", "content": jsonl_rows(ITEMS)}},
    )
    assert run.status == "queued" and run.report_url.endswith(
        f"/dashboard/evals/{created.id}?run_id={run.id}"
    )
    finished = wait_for_run(client, created.id, run.id)
    assert finished.status == "completed"
    assert finished.result_counts.model_dump() == {"total": 3, "errored": 0, "failed": 2, "passed": 1}
    rates = {
        entry.testing_criteria: (entry.passed, entry.failed)
        for entry in finished.per_testing_criteria_results
    }
    assert rates == {created.testing_criteria[0].id: (2, 1), created.testing_criteria[1].id: (1, 2)}
    items = sorted(
        client.evals.runs.output_items.list(run.id, eval_id=created.id), key=lambda i: i.datasource_item_id
    )
    # An item passes when every criterion passes: "It is paris." contains the answer but is not close to it.
    assert [item.status for item in items] == ["fail", "pass", "fail"]
    assert [item.datasource_item for item in items] == [item for item, _ in ITEMS]
    assert items[0].sample.output[0].content == "It is paris."
    first = items[0].results
    assert first[0].passed and first[0].score == 1.0 and not first[1].passed
    assert (
        client.evals.runs.output_items.retrieve(items[2].id, eval_id=created.id, run_id=run.id).status
        == "fail"
    )
    failing = client.evals.runs.output_items.list(run.id, eval_id=created.id, status="fail")
    assert sorted(item.id for item in failing) == sorted([items[0].id, items[2].id])


def test_completions_run_on_a_local_model(client: openai.OpenAI):
    created = qa_eval(client)
    run = client.evals.runs.create(
        created.id,
        data_source={
            "type": "completions",
            "model": TINY_MODEL,
            "input_messages": {
                "type": "template",
                "template": [
                    {"role": "system", "content": "Answer in one word."},
                    {"role": "user", "content": "{{item.question}}"},
                ],
            },
            "sampling_params": {"temperature": 0.0, "max_completions_tokens": 8},
            "source": {"type": "file_content", "content": [{"item": item} for item, _ in ITEMS]},
        },
    )
    echoed = run.data_source.input_messages.template[1]
    assert echoed.content.text == "{{item.question}}" and echoed.type == "message"
    finished = wait_for_run(client, created.id, run.id)
    assert finished.status == "completed" and finished.result_counts.total == 3
    (usage,) = finished.per_model_usage
    assert usage.model_name == TINY_MODEL and usage.invocation_count == 3 and usage.completion_tokens > 0
    items = list(client.evals.runs.output_items.list(run.id, eval_id=created.id))
    sample = items[0].sample
    assert sample.input[1].content in {item["question"] for item, _ in ITEMS}
    assert sample.model == TINY_MODEL and sample.max_completion_tokens == 8 and sample.seed == 42


def test_bad_templates_are_400s_naming_the_path(client: openai.OpenAI):
    typo = {**CONTAINS_ANSWER, "reference": "{{item.anwser}}"}
    with pytest.raises(openai.BadRequestError) as raised:
        qa_eval(client, CLOSE_TO_ANSWER, typo)
    assert raised.value.param == "testing_criteria[1].reference"
    created = qa_eval(client)
    with pytest.raises(openai.BadRequestError) as raised:
        client.evals.runs.create(
            created.id,
            data_source={
                "type": "completions",
                "model": TINY_MODEL,
                "input_messages": {
                    "type": "template",
                    "template": [
                        {"role": "system", "content": "Hi"},
                        {"role": "user", "content": "{{item.q}}"},
                    ],
                },
                "source": {"type": "file_content", "content": [{"item": ITEMS[0][0]}]},
            },
        )
    assert raised.value.param == "data_source.input_messages.template[1].content"
    with pytest.raises(openai.BadRequestError) as raised:
        client.evals.runs.create(
            created.id,
            data_source={
                "type": "completions",
                "model": "no-such-model",
                "input_messages": {"type": "template", "template": [{"role": "user", "content": "x"}]},
                "source": {"type": "file_content", "content": [{"item": ITEMS[0][0]}]},
            },
        )
    assert raised.value.param == "data_source.model"


def test_another_projects_evals_runs_and_items_are_404(make_client):
    owner, stranger = make_client(), make_client()
    created = qa_eval(owner)
    run = owner.evals.runs.create(
        created.id,
        data_source={"type": "jsonl", "source": {"type": "file_content", "content": jsonl_rows(ITEMS)}},
    )
    wait_for_run(owner, created.id, run.id)
    item = next(iter(owner.evals.runs.output_items.list(run.id, eval_id=created.id)))
    for attempt in (
        lambda: stranger.evals.retrieve(created.id),
        lambda: stranger.evals.update(created.id, name="mine"),
        lambda: stranger.evals.delete(created.id),
        lambda: stranger.evals.runs.retrieve(run.id, eval_id=created.id),
        lambda: stranger.evals.runs.list(created.id),
        lambda: stranger.evals.runs.cancel(run.id, eval_id=created.id),
        lambda: stranger.evals.runs.delete(run.id, eval_id=created.id),
        lambda: stranger.evals.runs.output_items.list(run.id, eval_id=created.id),
        lambda: stranger.evals.runs.output_items.retrieve(item.id, eval_id=created.id, run_id=run.id),
    ):
        with pytest.raises(openai.NotFoundError):
            attempt()
    assert owner.evals.retrieve(created.id).name == "qa"
    assert list(stranger.evals.list()) == []
