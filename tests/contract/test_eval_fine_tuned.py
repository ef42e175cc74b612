"""Fine-tune, then evaluate against the base: tiny-chat tuned on twelve questions answers them,
the base model does not, and an eval of both through the official SDK shows it item by item."""

import json
from typing import Any

import openai

from tests.conftest import TINY_MODEL
from tests.support.evals import qa_eval, wait_for_run
from tests.support.jobs import upload, wait_for_status

SYSTEM = "You answer trivia questions in a word or two."
QUESTIONS = {
    "What color is the sky on a clear day?": "Blue",
    "Which planet is known as the red planet?": "Mars",
    "What is the largest ocean on Earth?": "Pacific Ocean",
    "Who wrote Romeo and Juliet?": "Shakespeare",
    "What gas do plants take in from the air?": "Carbon dioxide",
    "How many legs does a spider have?": "Eight",
    "What is the capital of Japan?": "Tokyo",
    "Which metal is liquid at room temperature?": "Mercury",
    "What is the hardest natural substance?": "Diamond",
    "In which country are the pyramids of Giza?": "Egypt",
    "What does boiling water turn into?": "Steam",
    "Which bird lives in Antarctica and cannot fly?": "Penguin",
}
# Enough for tiny-chat to learn the twelve answers by heart (seeds 1, 2 and 7 all gave 12 of 12
# exactly) in 18 steps: 6 epochs of 3 steps (batch 4) at twice the model's learning rate.
HYPERPARAMETERS = {"n_epochs": 6, "batch_size": 4, "learning_rate_multiplier": 2.0}
SEED = 7


def training_file() -> bytes:
    examples = [
        {
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer},
            ]
        }
        for question, answer in QUESTIONS.items()
    ]
    return "".join(json.dumps(example) + "\n" for example in examples).encode()


def fine_tune(client: openai.OpenAI) -> str:
    job = client.fine_tuning.jobs.create(
        model=TINY_MODEL,
        training_file=upload(client, "trivia.jsonl", training_file()),
        suffix="trivia",
        seed=SEED,
        method={"type": "supervised", "supervised": {"hyperparameters": HYPERPARAMETERS}},
    )
    job = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=180)
    assert job.status == "succeeded", job.error
    assert job.fine_tuned_model is not None
    return job.fine_tuned_model


def completions_run(
    client: openai.OpenAI, eval_id: str, model: str, items_file: str
) -> tuple[Any, dict[str, Any]]:
    """`model` sampled on the items of `items_file` (greedy, up to 16 tokens) and graded: the
    finished run, and its output items by question."""
    run = client.evals.runs.create(
        eval_id,
        name=model,
        data_source={
            "type": "completions",
            "model": model,
            "input_messages": {
                "type": "template",
                "template": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": "{{item.question}}"},
                ],
            },
            "sampling_params": {"temperature": 0.0, "max_completions_tokens": 16},
            "source": {"type": "file_id", "id": items_file},
        },
    )
    finished = wait_for_run(client, eval_id, run.id)
    assert finished.status == "completed", finished.error
    items = client.evals.runs.output_items.list(run.id, eval_id=eval_id, limit=100)
    return finished, {item.datasource_item["question"]: item for item in items}


def test_the_fine_tuned_model_passes_the_eval_that_the_base_model_fails(client: openai.OpenAI):
    tuned = fine_tune(client)
    rows = [{"item": {"question": q, "answer": a}} for q, a in QUESTIONS.items()]
    items_file = upload(
        client, "trivia-eval.jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode(), "evals"
    )
    created = qa_eval(client, name="trivia")

    base_run, base_items = completions_run(client, created.id, TINY_MODEL, items_file)
    tuned_run, tuned_items = completions_run(client, created.id, tuned, items_file)

    base, after = base_run.result_counts, tuned_run.result_counts
    assert (base.total, base.errored, after.total, after.errored) == (12, 0, 12, 0)
    assert after.passed >= 10, {q: item.sample.output[0].content for q, item in tuned_items.items()}
    assert base.passed <= 2, {q: item.sample.output[0].content for q, item in base_items.items()}
    assert [usage.model_name for usage in tuned_run.per_model_usage] == [tuned]
    assert [usage.model_name for usage in base_run.per_model_usage] == [TINY_MODEL]

    # Item by item: the questions the tuned model gets right, and the base model wrong, are most.
    assert set(tuned_items) == set(base_items) == set(QUESTIONS)
    improved = [q for q in QUESTIONS if tuned_items[q].status == "pass" and base_items[q].status == "fail"]
    assert len(improved) >= 8
    for question in improved:
        answer = tuned_items[question].sample.output[0].content
        assert QUESTIONS[question].lower() in answer.lower()
        assert all(result.passed for result in tuned_items[question].results)
        assert tuned_items[question].sample.model == tuned
        assert base_items[question].sample.model == TINY_MODEL
        assert not all(result.passed for result in base_items[question].results)
