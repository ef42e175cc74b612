"""Token counts: toktok against the official tiktoken, the per-example formula, model names."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.validation import encoding_for_model
from gateway.validation.tokens import TokenCounter

from .examples import CALL, SYSTEM, TOOLS, USER, VALID_EXAMPLES, chat, preference
from .support import cookbook_tokens, jsonl, validate

ENCODINGS = ("o200k_base", "cl100k_base")

EDGE_TEXTS = [
    "",
    "a" * 20_000,
    " " * 5_000,
    "\n" * 300 + "x",
    " \t \n\r\n  \u3000\u00a0 ",
    "1234567890" * 200,
    "日本語のテキストと中文文本，还有한국어 텍스트。" * 50,
    "👩‍👩‍👧‍👦🏳️‍🌈👍🏽🇫🇷" * 40,
    "<|endoftext|>",
    "x <|endoftext|> y <|fim_prefix|><|im_start|>",
    "I'll we've they're DON'T it's",
    "नमस्ते दुनिया مرحبا بالعالم Привет мир",
    "def f(x):\n\treturn {'a': [1, 2.5e-3]}  # 🤖",
    "\u0000\u0001\u007f\ufeff\U0010ffff",
]


@pytest.mark.parametrize("encoding_name", ENCODINGS)
def test_edge_texts_count_like_tiktoken(encoding_name: str, tiktoken_encoding) -> None:
    encoding = tiktoken_encoding(encoding_name)
    expected = [len(encoding.encode_ordinary(text)) for text in EDGE_TEXTS]
    assert TokenCounter(encoding_name).count(EDGE_TEXTS) == expected


# Surrogates (`Cs`, never text) and characters that Python 3.11's Unicode 14 tables call
# unassigned (`Cn`) are left out: newer tables assign some of them, and there toktok and
# tiktoken may split differently (`"\U000323b0/A"`, CJK Extension J: 5 tokens against 6).
ASSIGNED = st.characters(exclude_categories=("Cn", "Cs"))


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.text(ASSIGNED, max_size=300), max_size=8))
def test_random_texts_count_like_tiktoken(texts: list[str], tiktoken_encoding) -> None:
    for encoding_name in ENCODINGS:
        encoding = tiktoken_encoding(encoding_name)
        expected = [len(encoding.encode_ordinary(text)) for text in texts]
        assert TokenCounter(encoding_name).count(texts) == expected


FORMULA_EXAMPLES = {
    **VALID_EXAMPLES,
    "preference with tools": preference(input={"messages": [SYSTEM, USER], "tools": TOOLS}),
    "prompt completion": {"prompt": "Translate: chat", "completion": " cat"},
    "unicode tools": chat(
        USER,
        {"role": "assistant", "tool_calls": [CALL, {**CALL, "id": "call_2"}]},
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "météo",
                    "description": "天气 ☀️",
                    "parameters": {"z": 1, "a": [True, None]},
                },
            }
        ],
    ),
}


@pytest.mark.parametrize("encoding_name", ENCODINGS)
@pytest.mark.parametrize("example", FORMULA_EXAMPLES.values(), ids=FORMULA_EXAMPLES.keys())
def test_example_tokens_follow_the_documented_formula(
    example: dict, encoding_name: str, tiktoken_encoding
) -> None:
    report = validate(jsonl(example), encoding=encoding_name)
    assert report.is_valid
    assert report.total_tokens == cookbook_tokens(example, tiktoken_encoding(encoding_name))


def test_assistant_tokens_by_format(tiktoken_encoding) -> None:
    encoding = tiktoken_encoding("o200k_base")

    def count(text: str) -> int:
        return len(encoding.encode_ordinary(text))

    with_call = chat(
        USER,
        {"role": "assistant", "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "12:00"},
    )
    call = CALL["function"]
    assert validate(jsonl(with_call)).assistant_tokens == count(call["name"]) + count(call["arguments"])
    assert validate(jsonl(preference())).assistant_tokens == count("Yes.")
    assert validate(jsonl({"prompt": "2+2=", "completion": " 4"})).assistant_tokens == count(" 4")


def test_unknown_encodings_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown encoding"):
        TokenCounter("r50k_base")


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4o", "o200k_base"),
        ("gpt-4.1-nano-2025-04-14", "o200k_base"),
        ("gpt-4.1", "o200k_base"),
        ("o1", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini-2025-04-16", "o200k_base"),
        ("gpt-5-mini", "o200k_base"),
        ("chatgpt-4o-latest", "o200k_base"),
        ("ft:gpt-4o-mini-2024-07-18:acme:support:AbC12345", "o200k_base"),
        ("ft:gpt-4.1-2025-04-14:acme::AbC12345:ckpt-step-10", "o200k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("davinci-002", "cl100k_base"),
        ("babbage-002", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("ft:gpt-3.5-turbo-0125:acme::AbC12345", "cl100k_base"),
        ("ft:davinci-002:acme::AbC12345", "cl100k_base"),
        ("gpt-oss-20b", "o200k_harmony"),
        ("davinci", None),
        ("llama-3-8b", None),
        ("", None),
    ],
)
def test_encoding_for_model(model: str, encoding: str | None) -> None:
    assert encoding_for_model(model) == encoding
