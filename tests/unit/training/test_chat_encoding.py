import pytest

from training.examples import IGNORED, ChatEncoder, TokenizedSequence, TrainingDataError

SYSTEM = {"role": "system", "content": "Marv is a factual chatbot that is also sarcastic."}


@pytest.fixture
def encoder(tokenizer) -> ChatEncoder:
    return ChatEncoder(tokenizer, max_length=2048)


def trained_spans(tokenizer, sequence: TokenizedSequence) -> list[str]:
    """The decoded runs of consecutive trained tokens."""
    spans, run = [], []
    for token, label in zip(sequence.input_ids, sequence.labels, strict=True):
        if label != IGNORED:
            assert label == token
            run.append(token)
        elif run:
            spans.append(run)
            run = []
    if run:
        spans.append(run)
    return [tokenizer.decode(span) for span in spans]


def test_only_weight_1_assistant_turns_are_trained_with_their_end_token(encoder, tokenizer, weighted):
    sequence = encoder.supervised(weighted[0], "Training example on line 1")

    assert trained_spans(tokenizer, sequence) == [
        "Paris, as if everyone doesn't know that already.<|im_end|>"
    ]
    assert tokenizer.decode(sequence.input_ids) == tokenizer.apply_chat_template(
        [{k: v for k, v in m.items() if k != "weight"} for m in weighted[0]["messages"]], tokenize=False
    )


def test_absent_weight_trains_every_assistant_turn(encoder, tokenizer, weighted):
    messages = [{k: v for k, v in m.items() if k != "weight"} for m in weighted[1]["messages"]]

    sequence = encoder.supervised({"messages": messages}, "Training example on line 1")

    assert trained_spans(tokenizer, sequence) == [
        "William Shakespeare<|im_end|>",
        "Oh, just some guy named William Shakespeare. Ever heard of him?<|im_end|>",
    ]


def test_content_parts_are_joined(encoder, weighted):
    parted = [
        {
            **m,
            "content": [
                {"type": "text", "text": m["content"][:5]},
                {"type": "text", "text": m["content"][5:]},
            ],
        }
        for m in weighted[2]["messages"]
    ]

    assert encoder.supervised({"messages": parted}, "x") == encoder.supervised(weighted[2], "x")


def test_tools_and_tool_calls_are_rendered_and_the_calls_trained(encoder, tokenizer):
    example = {
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
        ],
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "assistant", "content": "It is sunny in Paris."},
        ],
    }

    sequence = encoder.supervised(example, "x")

    text = tokenizer.decode(sequence.input_ids)
    assert text.startswith(
        '<|im_start|>system\nTools:\n{"type": "function", "function": {"name": "get_weather", '
        '"parameters": {"type": "object"}}}\n<|im_end|>\n<|im_start|>user\n'
    )
    assert trained_spans(tokenizer, sequence) == [
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call><|im_end|>',
        "It is sunny in Paris.<|im_end|>",
    ]


@pytest.mark.parametrize(
    "messages",
    [
        [SYSTEM, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello", "weight": 0}],
        [SYSTEM, {"role": "user", "content": "Hi"}],
    ],
    ids=["all-weight-0", "no-assistant"],
)
def test_an_example_with_nothing_to_train_is_refused_by_line(make_trainer, weighted, messages):
    with pytest.raises(TrainingDataError) as raised:
        make_trainer([weighted[0], {"messages": messages}])

    assert str(raised.value).startswith("Training example on line 2: no assistant message with weight 1")


def test_truncation_cuts_from_the_end(tokenizer, weighted):
    full = ChatEncoder(tokenizer, 2048).supervised(weighted[0], "x")

    cut = ChatEncoder(tokenizer, len(full.input_ids) - 3).supervised(weighted[0], "x")

    assert cut.input_ids == full.input_ids[:-3]
    assert cut.labels == full.labels[:-3]
    with pytest.raises(TrainingDataError, match="within the first 10 tokens"):
        ChatEncoder(tokenizer, 10).supervised(weighted[0], "Training example on line 1")


def test_preference_pair_trains_only_the_outputs(encoder, tokenizer):
    example = {
        "input": {"messages": [SYSTEM, {"role": "user", "content": "Capital of France?"}]},
        "preferred_output": [{"role": "assistant", "content": "Paris, obviously."}],
        "non_preferred_output": [{"role": "assistant", "content": "Paris"}],
    }

    pair = encoder.preference(example, "x")

    prompt = tokenizer.apply_chat_template(
        example["input"]["messages"], tokenize=False, add_generation_prompt=True
    )
    assert tokenizer.decode(pair.chosen.input_ids).startswith(prompt)
    assert trained_spans(tokenizer, pair.chosen) == ["Paris, obviously.<|im_end|>"]
    assert trained_spans(tokenizer, pair.rejected) == ["Paris<|im_end|>"]
    with pytest.raises(TrainingDataError, match=r"^Training example on line 4 \(non_preferred_output\)"):
        encoder.preference({**example, "non_preferred_output": []}, "Training example on line 4")
