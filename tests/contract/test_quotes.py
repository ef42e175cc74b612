"""Cost quotes before any job exists: GET /v1/files/{id}/quote and `ftgate quote FILE`."""

import json
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from tests.support.jobs import DATA, chat_lines, upload

FTGATE = str(Path(sys.executable).parent / "ftgate")


def quote(client: openai.OpenAI, file_id: str, **params: object) -> dict:
    return client.get(f"/files/{file_id}/quote", cast_to=object, options={"params": params})


def test_quote_multiplies_billable_tokens_by_resolved_epochs_and_price(client: openai.OpenAI):
    file_id = upload(client, "elle-limericks.jsonl")
    report = client.get(f"/files/{file_id}/validation", cast_to=object)
    quoted = quote(client, file_id, model="gpt-4o-mini")
    assert quoted["model"] == "gpt-4o-mini-2024-07-18"
    assert quoted["n_examples"] == 10
    assert quoted["n_epochs"] == 10  # min(25, 100 // 10)
    assert quoted["billable_tokens_per_epoch"] == report["billable_tokens"]
    assert quoted["trained_tokens"] == report["billable_tokens"] * 10
    assert quoted["estimated_cost"] == round(quoted["trained_tokens"] * 3.0 / 1_000_000, 6)
    assert quoted["reserved_cost"] == quoted["estimated_cost"]  # no upstream estimates here
    assert (quoted["reserves"], quoted["upstream_estimated_cost"], quoted["upstream_note"]) == (
        "quote",
        None,
        None,
    )
    assert (
        quote(client, file_id, model="gpt-4.1", n_epochs=2)["trained_tokens"] == report["billable_tokens"] * 2
    )


def test_quote_counts_with_the_models_own_encoding_and_limit(client: openai.OpenAI):
    file_id = upload(client, "many.jsonl", chat_lines(40))
    o200k = quote(client, file_id, model="gpt-4o-mini")
    cl100k = quote(client, file_id, model="gpt-3.5-turbo")
    assert (o200k["encoding"], cl100k["encoding"]) == ("o200k_base", "cl100k_base")
    assert cl100k["n_epochs"] == o200k["n_epochs"] == 3
    assert cl100k["estimated_cost"] == round(cl100k["trained_tokens"] * 8.0 / 1_000_000, 6)


def test_quote_of_an_invalid_file_says_so(client: openai.OpenAI):
    file_id = upload(client, "bad.jsonl", chat_lines(12) + b"{oops\n")
    quoted = quote(client, file_id, model="gpt-4o-mini")
    assert quoted["is_valid"] is False and quoted["n_examples"] == 12


@pytest.mark.parametrize(
    ("params", "param"),
    [({"model": "gpt-9"}, "model"), ({}, "model"), ({"model": "gpt-4o-mini", "n_epochs": 0}, "n_epochs")],
)
def test_quote_refuses_bad_parameters(client: openai.OpenAI, params: dict, param: str):
    file_id = upload(client, "elle-limericks.jsonl")
    with pytest.raises(openai.BadRequestError) as raised:
        quote(client, file_id, **params)
    assert raised.value.param == param


def test_only_fine_tune_files_are_quoted(client: openai.OpenAI):
    file_id = upload(client, "b.jsonl", b"{}\n", purpose="batch")
    with pytest.raises(openai.BadRequestError):
        quote(client, file_id, model="gpt-4o-mini")


def test_cli_quote_of_a_local_file_matches_the_api(client: openai.OpenAI):
    file_id = upload(client, "elle-limericks.jsonl")
    printed = subprocess.run(
        [FTGATE, "quote", str(DATA / "elle-limericks.jsonl"), "--model", "gpt-4o-mini"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(printed) == {**quote(client, file_id, model="gpt-4o-mini"), "file_id": None}
