"""Each grader type against rewards worked out by hand."""

import asyncio

import pytest

from graders import GraderDefinitionError, Grading, parse_grader, sample_namespace
from graders.judge import JudgeReply, JudgeRequest


def grade(grader: dict, output: str, item: dict | None = None, judge=None):
    grading = Grading(judge=judge)
    return asyncio.run(grading.grade(parse_grader(grader), sample_namespace(output), item or {}))


def check(operation: str, text: str, reference: str) -> float:
    grader = {
        "type": "string_check",
        "name": "s",
        "input": "{{sample.output_text}}",
        "reference": reference,
        "operation": operation,
    }
    return grade(grader, text).reward


@pytest.mark.parametrize(
    ("operation", "text", "reference", "reward"),
    [
        ("eq", "Paris", "Paris", 1.0),
        ("eq", "Paris", "paris", 0.0),
        ("ne", "Paris", "paris", 1.0),
        ("ne", "Paris", "Paris", 0.0),
        ("like", "It is Paris.", "Paris", 1.0),
        ("like", "It is paris.", "Paris", 0.0),
        ("ilike", "It is PARIS.", "paris", 1.0),
        ("ilike", "It is Rome.", "paris", 0.0),
        ("like", "Paris", "P%", 0.0),  # no SQL wildcards
        ("ilike", "Pa_is", "pa_is", 1.0),
    ],
)
def test_string_check(operation, text, reference, reward):
    assert check(operation, text, reference) == reward


def similarity(metric: str, text: str, reference: str) -> float:
    grader = {
        "type": "text_similarity",
        "name": "t",
        "input": "{{sample.output_text}}",
        "reference": "{{item.reference}}",
        "evaluation_metric": metric,
    }
    return grade(grader, text, {"reference": reference}).reward


@pytest.mark.parametrize(
    ("metric", "text", "reference", "reward"),
    [
        # Indel: |kitten| + |sitting| = 13, longest common subsequence "ittn" = 4 -> 8 / 13.
        ("fuzzy_match", "kitten", "sitting", 8 / 13),
        ("fuzzy_match", "same", "same", 1.0),
        ("bleu", "the cat sat on the mat", "the cat sat on the mat", 1.0),
        ("bleu", "the cat", "dogs run", 0.0),
        # n-grams of the hypothesis: 3+2+1 = 6, all matched; of the reference: 6+5+4+3 = 18.
        # GLEU = min(6/6, 6/18).
        ("gleu", "the cat sat", "the cat sat on the mat", 1 / 3),
        ("gleu", "", "", 1.0),
        # unigrams: P = 2/2, R = 2/3 -> F = 0.8; bigrams: P = 1/1, R = 1/2 -> F = 2/3.
        ("rouge_1", "the cat", "the cat sat", 0.8),
        ("rouge_2", "the cat", "the cat sat", 2 / 3),
        ("rouge_3", "the cat", "the cat sat", 0.0),
        ("rouge_l", "the cat", "the cat sat", 0.8),
        ("rouge_5", "a b c d e", "a b c d e", 1.0),
    ],
)
def test_text_similarity(metric, text, reference, reward):
    assert similarity(metric, text, reference) == pytest.approx(reward)


@pytest.mark.parametrize("metric", ["cosine", "meteor"])
def test_metrics_that_need_downloads_are_refused(metric):
    grader = {
        "type": "text_similarity",
        "name": "t",
        "input": "a",
        "reference": "b",
        "evaluation_metric": metric,
    }
    with pytest.raises(GraderDefinitionError) as refused:
        parse_grader(grader)
    assert refused.value.param == "grader.evaluation_metric"
    assert "not supported" in refused.value.message


SUBS = {
    "exact": {
        "type": "string_check",
        "name": "exact",
        "input": "{{sample.output_text}}",
        "reference": "{{item.answer}}",
        "operation": "eq",
    },
    "loose": {
        "type": "string_check",
        "name": "loose",
        "input": "{{sample.output_text}}",
        "reference": "{{item.answer}}",
        "operation": "ilike",
    },
}


@pytest.mark.parametrize(
    ("formula", "reward"),
    [
        ("(exact + loose) / 2", 0.5),
        ("0.25 * exact + 0.75 * loose", 0.75),
        ("loose ^ 2 + 2 ** 3", 9.0),
        ("max(exact, loose) - min(exact, loose)", 1.0),
        ("sqrt(4) * abs(-loose) + floor(1.7) + ceil(0.2) + log(exp(2))", 6.0),
        ("log(8, 2)", 3.0),
    ],
)
def test_multi_formula(formula, reward):
    grader = {"type": "multi", "name": "m", "graders": SUBS, "calculate_output": formula}
    result = grade(grader, "Answer: PARIS", {"answer": "paris"})
    assert result.reward == pytest.approx(reward)
    assert result.sub_rewards == {"exact": 0.0, "loose": 1.0}
    assert not result.errors.any()


def test_multi_accepts_a_list_and_a_single_grader():
    as_list = {
        "type": "multi",
        "name": "m",
        "graders": list(SUBS.values()),
        "calculate_output": "exact + loose",
    }
    assert grade(as_list, "paris", {"answer": "paris"}).reward == 2.0
    single = {"type": "multi", "name": "m", "graders": SUBS["loose"], "calculate_output": "loose * 3"}
    assert grade(single, "paris", {"answer": "paris"}).sub_rewards == {"loose": 1.0}


def test_multi_division_by_zero_is_a_formula_flag():
    grader = {"type": "multi", "name": "m", "graders": SUBS, "calculate_output": "loose / exact"}
    result = grade(grader, "x", {"answer": "y"})
    assert result.reward == 0.0 and result.errors.formula_parse_error


@pytest.mark.parametrize(
    "formula",
    [
        "__import__('os')",
        "exact.real",
        "exact if loose else 1",
        "unknown + 1",
        "exact[0]",
        "'a'",
        "pow(2, 3)",
        "lambda: 1",
        "exact +",
        "sqrt(exact, loose)",
    ],
)
def test_multi_refuses_anything_but_arithmetic(formula):
    with pytest.raises(GraderDefinitionError) as refused:
        parse_grader({"type": "multi", "name": "m", "graders": SUBS, "calculate_output": formula})
    assert refused.value.param == "grader.calculate_output"


class ScriptedJudge:
    def __init__(self, text: str, refusal: str | None = None) -> None:
        self.text, self.refusal = text, refusal
        self.requests: list[JudgeRequest] = []

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        self.requests.append(request)
        return JudgeReply(
            self.text, "judge-model", prompt_tokens=10, completion_tokens=3, refusal=self.refusal
        )


SCORE = {
    "type": "score_model",
    "name": "judge",
    "model": "judge-model",
    "range": [0, 10],
    "input": [
        {"role": "system", "content": "Score 0-10."},
        {"role": "user", "content": {"type": "input_text", "text": "Q {{item.q}} A {{sample.output_text}}"}},
    ],
}


@pytest.mark.parametrize(("text", "reward"), [('{"steps": [], "result": 7}', 7.0), ("I give it 4.5", 4.5)])
def test_score_model(text, reward):
    judge = ScriptedJudge(text)
    result = grade(SCORE, "four", {"q": "2+2?"}, judge)
    assert result.reward == reward and not result.errors.any()
    assert judge.requests[0].messages[1] == {"role": "user", "content": "Q 2+2? A four"}
    assert result.token_usage == 13 and result.sampled_model_name == "judge-model"
    assert result.usage_per_model["judge-model"]["total_tokens"] == 13


@pytest.mark.parametrize(
    ("text", "refusal", "flag"),
    [
        ("eleven", None, "model_grader_parse_error"),
        ("42", None, "model_grader_parse_error"),
        ("", "I cannot", "model_grader_refusal_error"),
    ],
)
def test_score_model_flags(text, refusal, flag):
    result = grade(SCORE, "x", {"q": "y"}, ScriptedJudge(text, refusal))
    assert result.reward == 0.0 and getattr(result.errors, flag)


def test_model_grader_without_a_judge_is_a_server_flag():
    result = grade(SCORE, "x", {"q": "y"})
    assert result.errors.model_grader_server_error and result.errors.model_grader_server_error_details


LABEL = {
    "type": "label_model",
    "name": "mood",
    "model": "judge-model",
    "labels": ["positive", "negative"],
    "passing_labels": ["positive"],
    "input": [{"role": "user", "content": "{{sample.output_text}}"}],
}


@pytest.mark.parametrize(
    ("text", "reward", "parse_error"),
    [('{"label": "positive"}', 1.0, False), ("Negative.", 0.0, False), ("unsure", 0.0, True)],
)
def test_label_model(text, reward, parse_error):
    result = grade(LABEL, "great", judge=ScriptedJudge(text))
    assert result.reward == reward and result.errors.model_grader_parse_error is parse_error


def test_label_model_passing_labels_must_be_labels():
    with pytest.raises(GraderDefinitionError) as refused:
        parse_grader(LABEL | {"passing_labels": ["happy"]})
    assert refused.value.param == "grader"
