"""Helpers for eval tests: a question/answer eval, and waiting for a run to finish."""

import time
from typing import Any

import openai

QA_SCHEMA = {
    "type": "object",
    "properties": {"question": {"type": "string"}, "answer": {"type": "string"}},
    "required": ["question", "answer"],
}
CONTAINS_ANSWER = {
    "type": "string_check",
    "name": "contains answer",
    "input": "{{sample.output_text}}",
    "reference": "{{item.answer}}",
    "operation": "ilike",
}
CLOSE_TO_ANSWER = {
    "type": "text_similarity",
    "name": "close to answer",
    "input": "{{sample.output_text}}",
    "reference": "{{item.answer}}",
    "evaluation_metric": "fuzzy_match",
    "pass_threshold": 0.8,
}
FINISHED = ("completed", "failed", "canceled")


def qa_eval(client: openai.OpenAI, *criteria: dict[str, Any], name: str = "qa") -> Any:
    return client.evals.create(
        name=name,
        data_source_config={"type": "custom", "item_schema": QA_SCHEMA, "include_sample_schema": True},
        testing_criteria=list(criteria or (CONTAINS_ANSWER, CLOSE_TO_ANSWER)),
    )


def wait_for_run(client: openai.OpenAI, eval_id: str, run_id: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        run = client.evals.runs.retrieve(run_id, eval_id=eval_id)
        if run.status in FINISHED:
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run.status} after {timeout} s"
        time.sleep(0.2)


def jsonl_rows(pairs: list[tuple[dict[str, Any], str]]) -> list[dict[str, Any]]:
    """Rows with their samples given: (item, output_text) pairs."""
    return [{"item": item, "sample": {"output_text": text}} for item, text in pairs]
