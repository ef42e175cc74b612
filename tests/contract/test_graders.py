"""/v1/fine_tuning/alpha/graders/run and /validate through the official SDK; every response is
checked against RunGraderResponse / ValidateGraderResponse by the wire checker."""

import openai
import pytest

from tests.conftest import TINY_MODEL

CHECK = {
    "type": "string_check",
    "name": "capital",
    "input": "{{sample.output_text}}",
    "reference": "{{item.answer}}",
    "operation": "ilike",
}
FUZZY = {
    "type": "text_similarity",
    "name": "close",
    "input": "{{sample.output_text}}",
    "reference": "{{item.answer}}",
    "evaluation_metric": "fuzzy_match",
}
PYTHON = {"type": "python", "name": "py", "source": "def grade(sample, item):\n    return 0.25\n"}


def test_run_string_check(client: openai.OpenAI):
    result = client.fine_tuning.alpha.graders.run(
        grader=CHECK, model_sample="It is PARIS.", item={"answer": "paris"}
    )
    assert result.reward == 1.0
    assert result.metadata.name == "capital" and result.metadata.type == "string_check"
    assert not any(value for value in result.metadata.errors.model_dump().values())


def test_run_multi_with_named_graders(client: openai.OpenAI):
    grader = {
        "type": "multi",
        "name": "mix",
        "graders": {"check": CHECK, "close": FUZZY, "py": PYTHON},
        "calculate_output": "(check + close) / 2 + py",
    }
    result = client.fine_tuning.alpha.graders.run(
        grader=grader, model_sample="paris", item={"answer": "paris"}
    )
    assert result.reward == pytest.approx(1.25)
    assert result.sub_rewards == {"check": 1.0, "close": 1.0, "py": 0.25}


def test_run_reports_flags_not_errors(client: openai.OpenAI):
    grader = {
        "type": "python",
        "name": "py",
        "source": "def grade(sample, item):\n    raise ValueError('no')\n",
    }
    result = client.fine_tuning.alpha.graders.run(grader=grader, model_sample="x")
    assert result.reward == 0.0
    assert result.metadata.errors.python_grader_runtime_error
    assert result.metadata.errors.python_grader_runtime_error_details == "ValueError: no"


def test_score_model_judged_by_a_local_model(client: openai.OpenAI):
    grader = {
        "type": "score_model",
        "name": "judge",
        "model": TINY_MODEL,
        "input": [{"role": "user", "content": "Score 0 to 1: {{sample.output_text}}"}],
        "sampling_params": {"temperature": 0, "max_completions_tokens": 4},
    }
    result = client.fine_tuning.alpha.graders.run(grader=grader, model_sample="Paris")
    assert result.metadata.sampled_model_name and result.metadata.token_usage
    assert result.model_grader_token_usage_per_model
    errors = result.metadata.errors
    assert not errors.model_grader_server_error
    assert result.reward == 0.0 if errors.model_grader_parse_error else 0.0 <= result.reward <= 1.0


def test_validate_echoes_multi_graders_as_a_dict(client: openai.OpenAI):
    grader = {"type": "multi", "name": "mix", "graders": [CHECK, FUZZY], "calculate_output": "1"}
    result = client.fine_tuning.alpha.graders.validate(grader=grader)
    echoed = result.model_dump(warnings=False)["grader"]
    assert echoed["graders"] == {"capital": CHECK, "close": FUZZY}


@pytest.mark.parametrize(
    ("grader", "param"),
    [
        (CHECK | {"operation": "glob"}, "grader.operation"),
        (FUZZY | {"evaluation_metric": "cosine"}, "grader.evaluation_metric"),
        ({"type": "label_model", "name": "l"}, "grader.type"),
        (
            {"type": "multi", "name": "m", "graders": {"a": CHECK}, "calculate_output": "b + 1"},
            "grader.calculate_output",
        ),
    ],
)
def test_bad_graders_are_400_with_param(client: openai.OpenAI, grader, param):
    with pytest.raises(openai.BadRequestError) as refused:
        client.fine_tuning.alpha.graders.validate(grader=grader)
    assert refused.value.param == param
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.alpha.graders.run(grader=grader, model_sample="x")
