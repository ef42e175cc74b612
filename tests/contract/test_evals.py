"""The Evals API through the official SDK: evals, runs, output items, on both databases; every
response body is checked against the spec by the wire checker."""

import json
import time
from pathlib import Path

import openai
import pytest

from tests.conftest import TINY_MODEL, tiny_model_server
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
    time.sleep(1.1)  # timestamps are whole seconds
    client.evals.update(created.id, name="touched")
    by_update = client.evals.list(order_by="updated_at", order="desc", limit=1)
    assert by_update.data[0].id == created.id and by_update.has_more
    following = client.evals.list(order_by="updated_at", order="desc", after=created.id)
    assert [item.id for item in following.data] == [second.id]
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


def many_questions(n: int) -> list[dict]:
    return [{"item": {"question": f"What is {i} plus {i}?", "answer": str(2 * i)}} for i in range(n)]


def completions_source(rows: list[dict], max_tokens: int = 24) -> dict:
    return {
        "type": "completions",
        "model": TINY_MODEL,
        "input_messages": {"type": "item_reference", "item_reference": "item.question"},
        "sampling_params": {"max_completion_tokens": max_tokens, "seed": 7},
        "source": {"type": "file_content", "content": rows},
    }


def test_cancel_stops_a_run_at_its_next_item(client: openai.OpenAI):
    created = qa_eval(client)
    run = client.evals.runs.create(created.id, data_source=completions_source(many_questions(200)))
    while client.evals.runs.retrieve(run.id, eval_id=created.id).result_counts.total < 2:
        time.sleep(0.05)
    canceled = client.evals.runs.cancel(run.id, eval_id=created.id)
    assert canceled.status == "canceled"
    time.sleep(2)  # items in flight when it was canceled are not written
    after = client.evals.runs.retrieve(run.id, eval_id=created.id)
    assert after.status == "canceled"
    assert after.result_counts.model_dump() == canceled.result_counts.model_dump()
    assert 2 <= after.result_counts.total < 200
    items = list(client.evals.runs.output_items.list(run.id, eval_id=created.id, limit=100))
    assert len(items) == after.result_counts.total
    assert client.evals.runs.cancel(run.id, eval_id=created.id).status == "canceled"  # idempotent
    deleted = client.evals.runs.delete(run.id, eval_id=created.id)
    assert deleted.deleted and deleted.run_id == run.id
    assert list(client.evals.runs.list(created.id)) == []


def test_a_file_of_items_with_purpose_evals(client: openai.OpenAI):
    lines = "\n".join(json.dumps(row) for row in jsonl_rows(ITEMS)) + "\nnot json\n"
    file = client.files.create(file=("items.jsonl", lines.encode()), purpose="evals")
    assert file.purpose == "evals" and [f.id for f in client.files.list(purpose="evals")] == [file.id]
    created = qa_eval(client)
    run = client.evals.runs.create(
        created.id, data_source={"type": "jsonl", "source": {"type": "file_id", "id": file.id}}
    )
    finished = wait_for_run(client, created.id, run.id)
    assert finished.result_counts.model_dump() == {"total": 4, "errored": 1, "failed": 2, "passed": 1}
    broken = client.evals.runs.output_items.list(run.id, eval_id=created.id, status="fail")
    errors = [item.sample.error for item in broken if item.sample.error is not None]
    assert [(error.code, error.message) for error in errors] == [
        ("invalid_item", "the line is not valid JSON")
    ]


HOSTILE = {
    "loop": "def grade(sample, item):\n    while True:\n        pass\n",
    "memory": "def grade(sample, item):\n    hog = bytearray(8 * 1024**3)\n    return 1.0\n",
    "network": (
        "import urllib.request\n"
        "def grade(sample, item):\n"
        "    urllib.request.urlopen(item['url'], timeout=1)\n"
        "    return 1.0\n"
    ),
}


def test_hostile_python_criteria_end_as_errored_items(tmp_path: Path, tiny_model: Path):
    """Python criteria that loop, eat memory or call the gateway itself make the item errored with
    OpenAI's flags, while the server keeps answering."""
    with tiny_model_server(tmp_path, tiny_model, "sqlite", python_grader_seconds=2.0) as limited:
        client = openai.OpenAI(
            base_url=f"{limited.base_url}/v1", api_key=limited.create_key("h"), max_retries=0
        )
        created = client.evals.create(
            data_source_config={"type": "custom", "item_schema": {"type": "object"}},
            testing_criteria=[
                {"type": "python", "name": name, "source": source} for name, source in HOSTILE.items()
            ],
        )
        row = {"item": {"url": f"{limited.base_url}/v1/models"}, "sample": {"output_text": "x"}}
        run = client.evals.runs.create(
            created.id, data_source={"type": "jsonl", "source": {"type": "file_content", "content": [row]}}
        )
        while client.evals.runs.retrieve(run.id, eval_id=created.id).status != "completed":
            assert client.models.list().data  # answered while the graders run
            time.sleep(0.2)
        (item,) = client.evals.runs.output_items.list(run.id, eval_id=created.id)
    assert item.status == "fail"
    flags = {result.name.rsplit("-", 5)[0]: result.metadata["errors"] for result in item.results}
    assert (
        flags["loop"]["unresponsive_reward_error"]
        and flags["loop"]["python_grader_server_error_type"] == "timeout"
    )
    assert flags["memory"]["python_grader_runtime_error_details"] == "MemoryError"
    assert "unreachable" in flags["network"]["python_grader_runtime_error_details"]


def test_text_no_database_stores_is_a_400_naming_the_field(client: openai.OpenAI):
    with pytest.raises(openai.BadRequestError) as raised:
        client.evals.create(
            name="bad\x00name",
            data_source_config={"type": "custom", "item_schema": QA_SCHEMA},
            testing_criteria=[CONTAINS_ANSWER],
        )
    assert raised.value.param == "name"
    created = qa_eval(client)
    rows = [{"item": {"question": "q\x00", "answer": "a"}, "sample": {"output_text": "a"}}]
    with pytest.raises(openai.BadRequestError) as raised:
        client.evals.runs.create(
            created.id, data_source={"type": "jsonl", "source": {"type": "file_content", "content": rows}}
        )
    assert raised.value.param.startswith("data_source")


def test_python_multi_and_model_criteria_in_a_run(client: openai.OpenAI):
    length = {
        "type": "python",
        "name": "length",
        "source": "def grade(sample, item):\n    return len(sample['output_text']) / 10\n",
        "pass_threshold": 0.5,
    }
    exact = {**CONTAINS_ANSWER, "name": "exact", "operation": "eq"}
    multi = {
        "type": "multi",
        "name": "both",
        "graders": {"length": length, "exact": exact},
        "calculate_output": "length + exact",
        "pass_threshold": 1.5,
    }
    judge = {
        "type": "label_model",
        "name": "judge",
        "model": TINY_MODEL,
        "input": [{"role": "user", "content": "Is {{sample.output_text}} the answer to {{item.question}}?"}],
        "labels": ["yes", "no"],
        "passing_labels": ["yes"],
    }
    created = qa_eval(client, length, multi, judge)
    pairs = [
        ({"question": "Longest river?", "answer": "Nile"}, "Nile"),
        ({"question": "Longest word?", "answer": "antidisestablishment"}, "antidisestablishment"),
    ]
    run = client.evals.runs.create(
        created.id,
        data_source={"type": "jsonl", "source": {"type": "file_content", "content": jsonl_rows(pairs)}},
    )
    finished = wait_for_run(client, created.id, run.id)
    items = sorted(
        client.evals.runs.output_items.list(run.id, eval_id=created.id), key=lambda i: i.datasource_item_id
    )
    scores = [[result.score for result in item.results[:2]] for item in items]
    assert scores == [[0.4, 1.4], [2.0, 3.0]]  # len/10; len/10 + exact
    assert [[result.passed for result in item.results[:2]] for item in items] == [
        [False, False],
        [True, True],
    ]
    assert all(item.results[1].metadata["sub_rewards"]["exact"] == 1.0 for item in items)
    (judged,) = finished.per_model_usage  # the label judge, once per item
    assert judged.model_name == TINY_MODEL and judged.invocation_count == 2 and judged.prompt_tokens > 0
    assert finished.result_counts.total == 2
