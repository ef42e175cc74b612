"""What a forwarded chat becomes in capture: answers read back from completions and streams,
dropped fields, the held-out rule, and the running validation report against the validator's."""

import json

from gateway.capture import answers, examples
from gateway.capture.tally import Tally, of_example
from gateway.validation import validate_chunks


def events(*chunks: dict, done: bool = True) -> bytes:
    body = b"".join(f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks)
    return body + (b"data: [DONE]\n\n" if done else b"")


def delta(finish_reason: str | None = None, **fields: object) -> dict:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": finish_reason}]}


def test_a_stream_is_assembled_text_and_tool_calls():
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a"'}}
    body = events(
        delta(role="assistant", content="Hel"),
        delta(content="lo", tool_calls=[call]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": ": 1}"}}]),
        delta("tool_calls"),
        {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2}},
    )
    assert answers.from_stream(body) == {
        "role": "assistant",
        "content": "Hello",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
        ],
    }


def test_a_stream_cut_short_has_no_answer():
    assert answers.from_stream(events(delta(content="Hi"), delta("stop"), done=False)) is None
    assert answers.from_stream(events(delta(content="Hi"))) is None
    assert answers.from_stream(b'data: {"choices": [{"index": 0, "delta": {"content": "H') is None


def test_a_completion_gives_its_first_choice():
    completion = {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi", "refusal": None}}]
    }
    message = answers.from_completion(json.dumps(completion).encode())
    assert examples.answer_message(message) == {"role": "assistant", "content": "Hi"}
    assert answers.from_completion(b"not json") is None
    assert examples.answer_message({"role": "assistant", "content": ""}) is None


def test_dropped_fields_are_top_level_keys_or_dotted_paths():
    body = {"user": "u", "metadata": {"customer": "acme"}}
    assert examples.drops(body, ["user"])
    assert examples.drops(body, ["metadata.customer"])
    assert not examples.drops(body, ["metadata.team", "metadata.customer.name", "seed"])


def test_the_held_out_rule_is_the_prompts_hash():
    prompts = [[{"role": "user", "content": f"Question {i}"}] for i in range(200)]
    held = [examples.held_out(prompt, 0.25) for prompt in prompts]
    assert held == [examples.held_out(prompt, 0.25) for prompt in prompts]
    assert 30 < sum(held) < 70
    assert not any(examples.held_out(prompt, 0) for prompt in prompts)
    assert all(examples.held_out(prompt, 1) for prompt in prompts)


def test_the_running_report_is_the_validators_report_of_the_whole_file():
    lines = [
        examples.training_line(
            {
                "messages": [
                    {"role": "developer", "content": "Be brief"},
                    {"role": "user", "content": f"Q{i}"},
                ]
            },
            {"role": "assistant", "content": f"Answer {i} " * i},
        )
        for i in range(12)
    ] + [
        examples.training_line(
            {"messages": [{"role": "user", "content": "Q"}]}, {"role": "assistant", "content": "A"}
        )
    ]
    tally = Tally()
    for line in lines:
        tally = tally.plus(of_example(validate_chunks([line]), line))
        assert Tally.of(tally.to_dict()) == tally
    assert tally.report() == validate_chunks([b"".join(lines)])
    assert Tally().report() == validate_chunks([b""])
