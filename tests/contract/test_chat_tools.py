"""A local model fine-tuned to call a tool answers with OpenAI's `tool_calls`, streamed and not,
when the request offers tools; its text stays content when it answers in words or when the
request says `tool_choice: "none"`."""

import json
from collections.abc import Iterator

import openai
import pytest

from tests.conftest import TINY_MODEL, sdk_client
from tests.support.dashboard import on_sqlite
from tests.support.jobs import upload, wait_for_status
from tests.support.server import RunningServer
from tests.support.wire import WireChecker

pytestmark = on_sqlite

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city now.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
SYSTEM = {"role": "system", "content": "You answer weather questions with the get_weather tool."}
# Each question four times, the greeting twice: the ten examples a job needs at least, and a
# tiny model that learns them all whatever the seed.
CITIES = ["Paris", "Oslo"]
GREETING = {"role": "user", "content": "Hello there!"}
GREETING_ANSWER = "Hello! Ask me about the weather anywhere."
GREEDY = {"temperature": 0, "max_tokens": 60}


def weather_question(city: str) -> list[dict]:
    return [SYSTEM, {"role": "user", "content": f"What is the weather in {city}?"}]


def training_lines() -> bytes:
    examples = [
        {
            "messages": [
                *weather_question(city),
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": json.dumps({"city": city})},
                        }
                    ],
                },
            ],
            "tools": TOOLS,
        }
        for city in CITIES * 4
    ]
    greeting = {
        "messages": [SYSTEM, GREETING, {"role": "assistant", "content": GREETING_ANSWER}],
        "tools": TOOLS,
    }
    examples += [greeting, greeting]
    return "".join(json.dumps(example) + "\n" for example in examples).encode()


@pytest.fixture(scope="module")
def tool_model(server: RunningServer) -> tuple[str, str]:
    """(project key, fine-tuned model) of a model trained to call get_weather."""
    key = server.create_key("tools")
    with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0) as client:
        job = client.fine_tuning.jobs.create(
            model=TINY_MODEL,
            training_file=upload(client, "weather.jsonl", training_lines()),
            method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 10}}},
        )
        finished = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=240)
    assert finished.status == "succeeded", finished.error
    return key, finished.fine_tuned_model


@pytest.fixture
def tools_client(
    server: RunningServer, tool_model: tuple[str, str], wire: WireChecker
) -> Iterator[openai.OpenAI]:
    with sdk_client(server, tool_model[0], wire) as client:
        yield client


def call_in_text(client: openai.OpenAI, model: str, city: str) -> dict:
    """The call the model writes for the question (arguments as an object, as chat templates
    render them), read from its plain text (`tool_choice: "none"`)."""
    choice = client.chat.completions.create(
        model=model, messages=weather_question(city), tools=TOOLS, tool_choice="none", **GREEDY
    ).choices[0]
    assert choice.finish_reason == "stop" and choice.message.tool_calls is None
    text = choice.message.content
    assert text.startswith("<tool_call>") and text.endswith("</tool_call>"), text
    return json.loads(text.removeprefix("<tool_call>").removesuffix("</tool_call>"))


def test_a_tool_call_comes_back_as_tool_calls(tools_client: openai.OpenAI, tool_model: tuple[str, str]):
    completion = tools_client.chat.completions.create(
        model=tool_model[1], messages=weather_question("Paris"), tools=TOOLS, **GREEDY
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.id.startswith("call_") and call.type == "function"
    written = call_in_text(tools_client, tool_model[1], "Paris")
    assert call.function.name == written["name"]
    assert json.loads(call.function.arguments) == written["arguments"]
    assert call.function.name == "get_weather" and set(written["arguments"]) == {"city"}


def test_a_streamed_tool_call_comes_as_a_tool_calls_delta(
    tools_client: openai.OpenAI, tool_model: tuple[str, str]
):
    chunks = list(
        tools_client.chat.completions.create(
            model=tool_model[1], messages=weather_question("Oslo"), tools=TOOLS, stream=True, **GREEDY
        )
    )
    deltas = [chunk.choices[0].delta for chunk in chunks if chunk.choices]
    assert "".join(delta.content or "" for delta in deltas) == ""
    [with_calls] = [delta for delta in deltas if delta.tool_calls]
    [call] = with_calls.tool_calls
    assert call.index == 0 and call.id.startswith("call_") and call.type == "function"
    written = call_in_text(tools_client, tool_model[1], "Oslo")
    assert call.function.name == written["name"]
    assert json.loads(call.function.arguments) == written["arguments"]
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "tool_calls"


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_in_words_stays_content(
    tools_client: openai.OpenAI, tool_model: tuple[str, str], stream: bool
):
    request = {"model": tool_model[1], "messages": [SYSTEM, GREETING], "tools": TOOLS, **GREEDY}
    if stream:
        chunks = list(tools_client.chat.completions.create(stream=True, **request))
        deltas = [chunk.choices[0].delta for chunk in chunks if chunk.choices]
        assert "".join(delta.content or "" for delta in deltas) == GREETING_ANSWER
        assert not any(delta.tool_calls for delta in deltas)
        assert chunks[-1].choices[0].finish_reason == "stop"
    else:
        choice = tools_client.chat.completions.create(**request).choices[0]
        assert (choice.message.content, choice.message.tool_calls, choice.finish_reason) == (
            GREETING_ANSWER,
            None,
            "stop",
        )
