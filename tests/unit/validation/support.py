"""Helpers for the validation tests: real data files, JSONL building, one-shot validation and
an independent, straightforward token count with tiktoken."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.validation import TrainingFileValidator, ValidationReport

DATA = Path(__file__).resolve().parents[2] / "data"
REAL_FILES = ("elle-limericks.jsonl", "marv-sarcastic.jsonl", "marv-weighted.jsonl")


def real_file(name: str) -> bytes:
    return (DATA / name).read_bytes()


def jsonl(*examples: Any) -> bytes:
    return b"".join(json.dumps(example).encode() + b"\n" for example in examples)


def validate(data: bytes, chunk_size: int | None = None, **options: Any) -> ValidationReport:
    validator = TrainingFileValidator(**options)
    step = chunk_size or max(len(data), 1)
    for start in range(0, len(data), step):
        validator.feed(data[start : start + step])
    return validator.finish()


def only_issue(data: bytes, **options: Any):
    report = validate(data, **options)
    assert report.n_invalid == 1 and len(report.issues) == 1, report.issues
    return report.issues[0]


def cookbook_tokens(example: dict, encoding) -> int:
    """The formula of gateway.validation.tokens, written out plainly over tiktoken."""
    if "prompt" in example:
        return len(encoding.encode_ordinary(example["prompt"])) + len(
            encoding.encode_ordinary(example["completion"])
        )
    if "input" in example:
        messages = example["input"]["messages"] + example["preferred_output"]
        definitions = [example["input"].get("tools")]
    else:
        messages = example["messages"]
        definitions = [example.get("tools"), example.get("functions")]

    def count(text: str) -> int:
        return len(encoding.encode_ordinary(text))

    tokens = 3
    for definition in definitions:
        if definition is not None:
            tokens += count(json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    for message in messages:
        tokens += 3 + count(message["role"])
        content = message.get("content")
        if isinstance(content, str):
            tokens += count(content)
        elif isinstance(content, list):
            tokens += sum(count(part["text"]) for part in content if part["type"] == "text")
        if "name" in message:
            tokens += count(message["name"]) + 1
        calls = [call["function"] for call in message.get("tool_calls") or []]
        if message.get("function_call"):
            calls.append(message["function_call"])
        for call in calls:
            tokens += count(call["name"]) + count(call["arguments"])
    return tokens
