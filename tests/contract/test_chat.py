"""POST /v1/chat/completions on local models, driven by the official SDK: the base `tiny-chat`,
a fine-tuned model and its checkpoints (LoRA adapters), streamed and not."""

import openai
import pytest

from tests.conftest import TINY_MODEL
from tests.support.tuned_models import TunedModel, seed_tuned_model

LIMERICK = [{"role": "user", "content": "Write a limerick about Elle."}]
GREEDY = {"temperature": 0, "max_tokens": 12}


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model, local_files_only=True)


@pytest.fixture
def tuned(server, client: openai.OpenAI, tiny_model) -> TunedModel:
    return seed_tuned_model(server.settings, client.api_key, TINY_MODEL, tiny_model, steps=[5, 10])


def answer(client: openai.OpenAI, model: str = TINY_MODEL, **options) -> str:
    options = {"messages": LIMERICK, **GREEDY, **options}
    return client.chat.completions.create(model=model, **options).choices[0].message.content


def streamed(client: openai.OpenAI, model: str = TINY_MODEL, **options) -> list:
    options = {"messages": LIMERICK, **GREEDY, **options}
    return list(client.chat.completions.create(model=model, stream=True, **options))


def not_found_body(name: str) -> dict:
    return {
        "message": f"The model `{name}` does not exist or you do not have access to it.",
        "type": "invalid_request_error",
        "param": None,
        "code": "model_not_found",
    }


def error_of(call) -> openai.APIStatusError:
    with pytest.raises(openai.APIStatusError) as raised:
        call()
    return raised.value


# ---------------------------------------------------------------------------------------------
# The base model
# ---------------------------------------------------------------------------------------------


def test_base_model_answers_a_chat_completion(client: openai.OpenAI, tokenizer):
    completion = client.chat.completions.create(model=TINY_MODEL, messages=LIMERICK, **GREEDY)
    assert completion.id.startswith("chatcmpl-") and completion.object == "chat.completion"
    assert completion.model == TINY_MODEL
    assert completion.system_fingerprint.startswith("fp_")
    [choice] = completion.choices
    assert (choice.index, choice.message.role, choice.message.refusal) == (0, "assistant", None)
    assert choice.finish_reason == "length"
    prompt_ids = tokenizer.apply_chat_template(LIMERICK, add_generation_prompt=True, return_dict=True)
    usage = completion.usage
    assert usage.prompt_tokens == len(prompt_ids["input_ids"])
    assert usage.completion_tokens == GREEDY["max_tokens"]
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details.reasoning_tokens == 0


def test_temperature_zero_is_greedy_and_reproducible(client: openai.OpenAI):
    assert answer(client) == answer(client)
    assert answer(client, max_tokens=40).startswith(answer(client, max_tokens=5))
    assert answer(client, temperature=1e-300) == answer(client), "a vanishing temperature is greedy"


def test_max_tokens_bounds_the_completion_exactly(client: openai.OpenAI):
    for max_tokens in (1, 5):
        completion = client.chat.completions.create(
            model=TINY_MODEL, messages=LIMERICK, temperature=0, max_completion_tokens=max_tokens
        )
        assert completion.choices[0].finish_reason == "length"
        assert completion.usage.completion_tokens == max_tokens


def test_a_seed_makes_sampling_reproducible(client: openai.OpenAI, tuned: TunedModel):
    sampled = {"temperature": 1.0, "seed": 7, "max_tokens": 20}
    first = answer(client, tuned.name, **sampled)
    assert first == answer(client, tuned.name, **sampled)


def test_n_returns_that_many_choices(client: openai.OpenAI):
    completion = client.chat.completions.create(model=TINY_MODEL, messages=LIMERICK, n=2, **GREEDY)
    assert [choice.index for choice in completion.choices] == [0, 1]
    assert completion.choices[0].message.content == completion.choices[1].message.content
    assert completion.usage.completion_tokens == 2 * GREEDY["max_tokens"]


def test_roles_content_parts_and_tools_render(client: openai.OpenAI, tokenizer):
    messages = [
        {
            "role": "developer",
            "content": [{"type": "text", "text": "Be "}, {"type": "text", "text": "brief."}],
        },
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny."},
    ]
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]
    completion = client.chat.completions.create(model=TINY_MODEL, messages=messages, tools=tools, **GREEDY)
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "weather", "arguments": {"city": "Paris"}},
    }
    rendered = [  # as the trainer renders examples: arguments decoded, developer as system
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny."},
    ]
    expected = tokenizer.apply_chat_template(
        rendered, tools=tools, add_generation_prompt=True, return_dict=True
    )
    assert completion.usage.prompt_tokens == len(expected["input_ids"])


# ---------------------------------------------------------------------------------------------
# Streaming
# ---------------------------------------------------------------------------------------------


def test_stream_matches_the_completion_chunk_by_chunk(client: openai.OpenAI):
    chunks = streamed(client, stream_options={"include_usage": True})
    assert len({chunk.id for chunk in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert all(chunk.object == "chat.completion.chunk" and chunk.model == TINY_MODEL for chunk in chunks)
    first, *middle, last_choice, usage_chunk = chunks
    assert first.choices[0].delta.role == "assistant" and first.choices[0].delta.content == ""
    deltas = [chunk.choices[0].delta.content for chunk in middle]
    assert len(deltas) > 1, "the answer came in one piece"
    assert "".join(deltas) == answer(client)
    assert last_choice.choices[0].finish_reason == "length" and last_choice.choices[0].delta.content is None
    assert usage_chunk.choices == [] and usage_chunk.usage.completion_tokens == GREEDY["max_tokens"]
    assert all(chunk.usage is None for chunk in chunks[:-1])


def test_stream_without_usage_and_with_two_choices(client: openai.OpenAI):
    chunks = streamed(client, n=2)
    by_index = {0: "", 1: ""}
    finishes = {}
    for chunk in chunks:
        assert chunk.usage is None
        [choice] = chunk.choices
        by_index[choice.index] += choice.delta.content or ""
        if choice.finish_reason is not None:
            finishes[choice.index] = choice.finish_reason
    assert finishes == {0: "length", 1: "length"}
    assert by_index[0] == by_index[1] == answer(client)


# ---------------------------------------------------------------------------------------------
# Stop sequences
# ---------------------------------------------------------------------------------------------


def test_a_stop_sequence_ends_the_answer_before_it(client: openai.OpenAI, tuned: TunedModel):
    full = answer(client, tuned.name, max_tokens=30)
    stop = full[8:11]
    expected = full[: full.index(stop)]
    completion = client.chat.completions.create(
        model=tuned.name, messages=LIMERICK, temperature=0, max_tokens=30, stop=[stop, "never-seen"]
    )
    assert completion.choices[0].message.content == expected
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.completion_tokens < 30
    chunks = streamed(client, tuned.name, max_tokens=30, stop=stop)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_a_stop_string_at_the_start_gives_an_empty_answer(client: openai.OpenAI):
    first = answer(client)[0]
    completion = client.chat.completions.create(model=TINY_MODEL, messages=LIMERICK, stop=first, **GREEDY)
    assert (completion.choices[0].message.content, completion.choices[0].finish_reason) == ("", "stop")


# ---------------------------------------------------------------------------------------------
# Fine-tuned models and checkpoints
# ---------------------------------------------------------------------------------------------


def test_fine_tuned_model_and_checkpoints_apply_their_adapters(client: openai.OpenAI, tuned: TunedModel):
    base = answer(client)
    final = client.chat.completions.create(model=tuned.name, messages=LIMERICK, **GREEDY)
    assert final.model == tuned.name
    assert final.choices[0].message.content != base
    step_5 = answer(client, tuned.checkpoints[5])
    step_10 = answer(client, tuned.checkpoints[10])
    assert len({base, final.choices[0].message.content, step_5, step_10}) == 4
    assert answer(client, tuned.name) == final.choices[0].message.content, "adapters must not leak"
    assert answer(client) == base, "the base must answer without adapters"
    chunks = streamed(client, tuned.checkpoints[10])
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == step_10


def test_deleted_fine_tuned_model_is_not_found(client: openai.OpenAI, tuned: TunedModel):
    answer(client, tuned.name)
    client.models.delete(tuned.name)
    error = error_of(lambda: answer(client, tuned.name))
    assert error.status_code == 404 and error.body == not_found_body(tuned.name)


def test_unknown_models_are_not_found(client: openai.OpenAI):
    # A base model whose upstream is not configured: test_auth_and_models.py.
    for name in (
        "no-such-model",
        "ft:tiny-chat:nobody::abcdefgh",
        "ft:tiny-chat:x::y:ckpt-step-1",
    ):
        error = error_of(lambda name=name: answer(client, name))
        assert error.status_code == 404 and error.body == not_found_body(name), name
        streaming = error_of(lambda name=name: streamed(client, name))
        assert streaming.status_code == 404 and streaming.body == not_found_body(name), name


# ---------------------------------------------------------------------------------------------
# Bad requests: 400 naming the parameter, never 422
# ---------------------------------------------------------------------------------------------


def bad_request(client: openai.OpenAI, **body) -> openai.BadRequestError:
    body = {"model": TINY_MODEL, "messages": LIMERICK, **body}
    with pytest.raises(openai.BadRequestError) as raised:
        client.post("/chat/completions", body=body, cast_to=object)
    assert raised.value.body["type"] == "invalid_request_error"
    return raised.value


def test_unknown_arguments_are_refused_in_openais_words(client: openai.OpenAI):
    error = bad_request(client, top_k=5)
    assert error.body == {
        "message": "Unrecognized request argument supplied: top_k",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model=TINY_MODEL, messages=LIMERICK, extra_body={"a": 1, "b": 2})
    assert raised.value.body["message"] == "Unrecognized request arguments supplied: a, b"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": []}, "messages"),
        ({"temperature": 3}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"n": 0}, "n"),
        ({"n": 9}, "n"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"model": ""}, "model"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        ({"messages": [{"role": "user", "content": "hi", "mood": "x"}]}, "messages[0].mood"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"tool_choice": "auto"}, "tool_choice"),
        ({"max_tokens": 5000}, "messages"),
        ({"logprobs": True}, "logprobs"),
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"response_format": {"type": "json_object"}}, "response_format.type"),
        ({"logit_bias": {"5": 10}}, "logit_bias"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
            "messages[0].content[0].type",
        ),
    ],
)
def test_bad_values_name_their_param(client: openai.OpenAI, body, param):
    assert bad_request(client, **body).param == param


def test_context_overflow_is_openais_error(client: openai.OpenAI):
    error = bad_request(client, max_tokens=5000)
    assert error.code == "context_length_exceeded"
    assert error.body["message"].startswith("This model's maximum context length is 2048 tokens.")


def test_unsupported_features_say_so(client: openai.OpenAI):
    error = bad_request(client, logprobs=True)
    assert (error.code, error.body["message"]) == (
        "unsupported_value",
        "Unsupported value: 'logprobs' does not support true with local models.",
    )


def test_accepted_options_that_change_nothing_here(client: openai.OpenAI):
    completion = client.chat.completions.create(
        model=TINY_MODEL,
        messages=LIMERICK,
        user="u-1",
        metadata={"team": "a"},
        store=False,
        frequency_penalty=0.5,
        presence_penalty=-0.5,
        response_format={"type": "text"},
        parallel_tool_calls=True,
        service_tier="auto",
        reasoning_effort="low",
        logprobs=False,
        top_p=0.9,
        **GREEDY,
    )
    assert completion.choices[0].finish_reason == "length"
