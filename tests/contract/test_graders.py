"""/v1/fine_tuning/alpha/graders/run and /validate through the official SDK; every response is
checked against RunGraderResponse / ValidateGraderResponse by the wire checker."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest

from tests.conftest import TINY_MODEL, tiny_model_server

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


def test_an_unknown_judge_model_is_a_server_flag(client: openai.OpenAI):
    grader = {
        "type": "score_model",
        "name": "judge",
        "model": "no-such-model",
        "input": [{"role": "user", "content": "{{sample.output_text}}"}],
    }
    result = client.fine_tuning.alpha.graders.run(grader=grader, model_sample="Paris")
    assert result.reward == 0.0 and result.metadata.errors.model_grader_server_error
    assert "no-such-model" in result.metadata.errors.model_grader_server_error_details


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


HOSTILE = {
    "loop": "def grade(sample, item):\n    while True:\n        pass\n",
    "memory": "def grade(sample, item):\n    hog = bytearray(3 * 1024 ** 3)\n    return 1.0\n",
    "network": (
        "import urllib.request\n"
        "def grade(sample, item):\n"
        "    urllib.request.urlopen(item['url'], timeout=1)\n"
        "    return 1.0\n"
    ),
}


def test_hostile_python_graders_leave_the_server_responsive(tmp_path: Path, tiny_model: Path):
    """A grader that loops, eats memory or calls the gateway itself ends as flags while another
    client of the same server is answered meanwhile."""
    with tiny_model_server(tmp_path, tiny_model, "sqlite", python_grader_seconds=2.0) as limited:
        key = limited.create_key("hostile")
        client = openai.OpenAI(base_url=f"{limited.base_url}/v1", api_key=key, max_retries=0)
        item = {"url": f"{limited.base_url}/v1/models"}
        with ThreadPoolExecutor(len(HOSTILE)) as pool:
            running = {
                name: pool.submit(
                    client.fine_tuning.alpha.graders.run,
                    grader={"type": "python", "name": name, "source": source},
                    model_sample="x",
                    item=item,
                )
                for name, source in HOSTILE.items()
            }
            assert client.models.list().data  # answered while the graders run
            results = {name: future.result() for name, future in running.items()}
    assert all(result.reward == 0.0 for result in results.values()), results
    loop, memory, network = (results[name].metadata.errors for name in ("loop", "memory", "network"))
    assert loop.unresponsive_reward_error and loop.python_grader_server_error_type == "timeout"
    assert memory.python_grader_runtime_error and memory.python_grader_runtime_error_details == "MemoryError"
    assert (
        network.python_grader_runtime_error and "unreachable" in network.python_grader_runtime_error_details
    )
