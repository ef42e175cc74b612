"""Templates as OpenAI describes them, and the flags a missing field raises."""

import asyncio

import pytest

from graders import GraderDefinitionError, Grading, parse_grader, sample_namespace
from graders.templates import MissingVariable, render, variables

CONTEXT = {
    "item": {"answer": "Paris", "meta": {"tags": ["geo", {"level": 2}]}, "n": 3, "none": None},
    "sample": sample_namespace('{"city": "Paris", "ranks": [1, 2]}'),
}


@pytest.mark.parametrize(
    ("template", "text"),
    [
        ("{{item.answer}}", "Paris"),
        ("{{ item.answer }}!", "Paris!"),
        ("{{item.meta.tags[1].level}} {{item.meta.tags.0}}", "2 geo"),
        ("{{item.n}} {{item.none}}", "3 null"),
        ("{{item.meta}}", '{"tags":["geo",{"level":2}]}'),
        ("{{sample.output_json.city}} {{sample.output_json.ranks[1]}}", "Paris 2"),
        ("{{sample.output_text}}", '{"city": "Paris", "ranks": [1, 2]}'),
        ("{{ other.thing }} {item.answer}", "{{ other.thing }} {item.answer}"),
    ],
)
def test_render(template, text):
    assert render(template, CONTEXT) == text


def test_variables():
    assert variables("{{item.a.b}} and {{ sample.output_json[0] }}") == [
        ("item", "a", "b"),
        ("sample", "output_json", "0"),
    ]


def test_missing_field():
    with pytest.raises(MissingVariable):
        render("{{item.meta.colour}}", CONTEXT)


def run(grader: dict, output: str, item: dict):
    return asyncio.run(Grading().grade(parse_grader(grader), sample_namespace(output), item))


CHECK = {
    "type": "string_check",
    "name": "s",
    "input": "{{sample.output_json.city}}",
    "reference": "{{item.city}}",
    "operation": "eq",
}


def test_output_json_of_a_sample_that_is_not_json_is_a_sample_parse_error():
    result = run(CHECK, "not json", {"city": "Paris"})
    assert (
        result.reward == 0.0 and result.errors.sample_parse_error and not result.errors.invalid_variable_error
    )


def test_missing_item_field_is_an_invalid_variable():
    result = run(CHECK, '{"city": "Paris"}', {})
    assert result.errors.invalid_variable_error and not result.errors.sample_parse_error
    assert run(CHECK, '{"city": "Paris"}', {"city": "Paris"}).reward == 1.0


@pytest.mark.parametrize(
    ("grader", "param"),
    [
        ({"type": "string_check", "name": "s", "input": "a", "reference": "b"}, "grader.operation"),
        (
            {"type": "string_check", "name": "s", "input": "a", "reference": "b", "operation": "glob"},
            "grader.operation",
        ),
        ({"type": "nope", "name": "s"}, "grader.type"),
        (
            {
                "type": "multi",
                "name": "m",
                "calculate_output": "a",
                "graders": {
                    "a": {
                        "type": "string_check",
                        "name": "a",
                        "input": 1,
                        "reference": "b",
                        "operation": "eq",
                    }
                },
            },
            "grader.graders.a.input",
        ),
        (
            {"type": "score_model", "name": "j", "model": "m", "input": [{"role": "judge", "content": "x"}]},
            "grader.input[0].role",
        ),
        ({"type": "python", "name": "p", "source": "def other(): pass"}, "grader.source"),
        ({"type": "python", "name": "p", "source": "def grade(:"}, "grader.source"),
    ],
)
def test_definition_errors_name_their_place(grader, param):
    with pytest.raises(GraderDefinitionError) as refused:
        parse_grader(grader)
    assert refused.value.param == param
