"""Streaming behaviour: chunk boundaries, hostile bytes, line numbers, the issue cap, the report."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.validation import TrainingFileValidator, ValidationReport, validate_chunks

from .examples import ASSISTANT, CALL, TOOLS, USER, chat
from .support import jsonl, real_file, validate

VALID_FILE = (
    b"\xef\xbb\xbf"
    + real_file("elle-limericks.jsonl").replace(b"\n", b"\r\n")
    + jsonl(
        chat(
            USER,
            {"role": "assistant", "content": "Caf\u00e9 \u65e5\u672c \U0001f469\u200d\U0001f4bb"},
        ),
        chat(
            USER,
            {"role": "assistant", "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "x"},
            tools=TOOLS,
        ),
    )
    + real_file("marv-weighted.jsonl").rstrip(b"\n")
)
INVALID_FILE = b"\n".join(
    [
        b'{"messages": [{"role": "user", "content": "\xe6\x97\xa5\xe6\x9c\xac"}, '
        b'{"role": "assistant", "content": "ok"}]}',
        b"",
        b'{"messages": [{"role": "user", "content": "\xe6\x97"}]}',
        b"[1, 2, 3]",
        b'{"messages": [{"role": "user", "content": "x"}], "weight": 1}',
        b"   ",
        b'{"messages": [{"role": "user", "content": "x"}, '
        b'{"role": "assistant", "content": "y", "weight": 2}]}',
        b'{"prompt": "a", "completion": "b"}',
        b'{"messages": [{"role": "assistant", "content": "<|endoftext|>"}]}',
        b'{"messages": [',
    ]
)
EXPECTED_INVALID_ISSUES = [
    (3, "invalid_utf8"),
    (4, "not_an_object"),
    (5, "extra_key"),
    (7, "invalid_weight"),
    (8, "mixed_format"),
    (9, "special_token"),
    (10, "invalid_json"),
]


def test_the_sample_files_are_what_the_chunking_tests_assume() -> None:
    valid = validate(VALID_FILE)
    assert valid.is_valid and valid.n_examples == 15
    invalid = validate(INVALID_FILE)
    assert [(issue.line, issue.code) for issue in invalid.issues] == EXPECTED_INVALID_ISSUES
    assert (invalid.n_lines, invalid.n_examples, invalid.n_invalid) == (8, 1, 7)
    assert "2 blank line(s) were skipped." in invalid.warnings


@settings(max_examples=150, deadline=None)
@given(data=st.data())
@pytest.mark.parametrize("content", [VALID_FILE, INVALID_FILE], ids=["valid", "invalid"])
def test_reports_do_not_depend_on_chunk_boundaries(content: bytes, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(content)), max_size=40)))
    chunks = [content[start:end] for start, end in zip([0, *cuts], [*cuts, len(content)], strict=True)]
    assert validate_chunks(chunks) == validate(content)


def test_byte_by_byte_feeding_gives_the_same_report() -> None:
    assert validate(INVALID_FILE, chunk_size=1) == validate(INVALID_FILE)


KNOWN_KEYS = st.sampled_from(
    [
        "messages",
        "role",
        "content",
        "name",
        "weight",
        "tool_calls",
        "function_call",
        "tool_call_id",
        "tools",
        "functions",
        "type",
        "function",
        "arguments",
        "id",
        "text",
        "image_url",
        "url",
        "input",
        "preferred_output",
        "non_preferred_output",
        "prompt",
        "completion",
        "refusal",
    ]
)
KNOWN_VALUES = st.sampled_from(
    [
        "system",
        "user",
        "assistant",
        "tool",
        "function",
        "text",
        "image_url",
        "{}",
        "<|im_end|>",
        0,
        1,
    ]
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | KNOWN_VALUES,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(KNOWN_KEYS | st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(JSON_VALUES, min_size=1, max_size=5))
def test_odd_json_shapes_never_raise(lines: list[object]) -> None:
    content = b"\n".join(json.dumps(line).encode() for line in lines)
    report = validate(content, chunk_size=13)
    assert report.n_examples + report.n_invalid == report.n_lines == len(lines)
    assert all(1 <= issue.line <= len(lines) for issue in report.issues)


@settings(max_examples=300, deadline=None)
@given(
    content=st.binary(max_size=400)
    | st.builds(lambda a, b: a + b, st.sampled_from([VALID_FILE, INVALID_FILE]), st.binary(max_size=50))
)
def test_arbitrary_bytes_never_raise(content: bytes) -> None:
    report = validate(content, chunk_size=64, max_line_bytes=256)
    assert report.n_examples + report.n_invalid == report.n_lines
    assert all(1 <= issue.line <= content.count(b"\n") + 1 for issue in report.issues)


def test_line_numbers_count_blank_lines_and_start_at_one() -> None:
    good = json.dumps(chat(USER, ASSISTANT)).encode()
    content = b"\n".join([b"", good, b"nope", b"", b"", good, b"{}", good])
    report = validate(content)
    assert [(issue.line, issue.code) for issue in report.issues] == [
        (3, "invalid_json"),
        (7, "missing_messages"),
    ]
    assert report.issues[0].message.endswith("(line 3)")
    assert (report.n_lines, report.n_examples, report.n_invalid) == (5, 3, 2)


def test_the_issue_cap_keeps_the_first_issues_and_counts_them_all() -> None:
    report = validate(b"oops\n" * 50, max_issues=5)
    assert [issue.line for issue in report.issues] == [1, 2, 3, 4, 5]
    assert (report.n_invalid, report.is_valid, report.format) == (50, False, None)
    assert report.warnings[0] == "Only the first 5 of 50 issues are listed."
    assert validate(b"oops\n", max_issues=0).is_valid is False


def test_warnings_for_missing_system_and_user_messages() -> None:
    report = validate(jsonl(chat(USER, ASSISTANT), chat({"role": "system", "content": "s"}, ASSISTANT)))
    assert report.is_valid
    assert "1 example(s) are missing a system message." in report.warnings
    assert "1 example(s) are missing a user message." in report.warnings


def test_empty_and_blank_files_are_not_valid() -> None:
    for content in (b"", b"\n\n", b"\xef\xbb\xbf"):
        report = validate(content)
        assert (report.format, report.n_lines, report.is_valid) == (None, 0, False)


def test_finish_is_final() -> None:
    validator = TrainingFileValidator()
    validator.feed(real_file("marv-sarcastic.jsonl"))
    report = validator.finish()
    assert validator.finish() is report
    with pytest.raises(RuntimeError):
        validator.feed(b"{}\n")


def test_report_round_trips_through_json() -> None:
    report = validate(INVALID_FILE, encoding="cl100k_base", token_limit=10)
    stored = json.loads(json.dumps(report.to_dict()))
    assert ValidationReport.from_dict(stored) == report
    assert stored["issues"][0] == {
        "line": 3,
        "code": "invalid_utf8",
        "message": report.issues[0].message,
    }
