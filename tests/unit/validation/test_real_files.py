"""The real training files, and their token figures against an independent count with tiktoken."""

from __future__ import annotations

import json

import pytest

from .support import REAL_FILES, cookbook_tokens, real_file, validate


def test_elle_limericks_is_valid_with_at_least_ten_examples() -> None:
    report = validate(real_file("elle-limericks.jsonl"))
    assert report.is_valid and report.format == "chat"
    assert report.n_examples == report.n_lines >= 10
    assert report.warnings == ()


@pytest.mark.parametrize("name", ["marv-sarcastic.jsonl", "marv-weighted.jsonl"])
def test_marv_files_are_valid_with_three_examples(name: str) -> None:
    report = validate(real_file(name))
    assert report.is_valid and report.format == "chat"
    assert (report.n_lines, report.n_examples, report.n_invalid) == (3, 3, 0)
    assert report.warnings == ("Training file has 3 example(s), but must have at least 10 examples",)


@pytest.mark.parametrize("encoding_name", ["o200k_base", "cl100k_base"])
@pytest.mark.parametrize("name", REAL_FILES)
def test_token_figures_match_tiktoken(name: str, encoding_name: str, tiktoken_encoding) -> None:
    encoding = tiktoken_encoding(encoding_name)
    examples = [json.loads(line) for line in real_file(name).splitlines()]
    per_example = [cookbook_tokens(example, encoding) for example in examples]
    limit = sorted(per_example)[len(per_example) // 2]

    report = validate(real_file(name), encoding=encoding_name, token_limit=limit)

    assert report.encoding == encoding_name
    assert report.total_tokens == sum(per_example)
    assert report.max_example_tokens == max(per_example)
    assert report.billable_tokens == sum(min(tokens, limit) for tokens in per_example)
    assert report.n_over_limit == sum(tokens > limit for tokens in per_example) > 0
    assert report.warnings[-1] == (
        f"{report.n_over_limit} example(s) may be over the {limit:,} token limit, "
        "they will be truncated during fine-tuning"
    )


def test_assistant_tokens_leave_out_weight_zero_turns(tiktoken_encoding) -> None:
    encoding = tiktoken_encoding("o200k_base")
    examples = [json.loads(line) for line in real_file("marv-weighted.jsonl").splitlines()]
    assistant_turns = [m for example in examples for m in example["messages"] if m["role"] == "assistant"]
    trained = sum(len(encoding.encode_ordinary(m["content"])) for m in assistant_turns if m["weight"] == 1)
    untrained = sum(len(encoding.encode_ordinary(m["content"])) for m in assistant_turns if m["weight"] == 0)

    report = validate(real_file("marv-weighted.jsonl"))

    assert untrained > 0
    assert report.assistant_tokens == trained
    assert report.total_tokens == sum(cookbook_tokens(example, encoding) for example in examples)
