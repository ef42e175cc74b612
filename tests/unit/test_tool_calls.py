"""Reading `<tool_call>` blocks out of generated text, whole and as it streams."""

import pytest

from gateway.chat.schemas import CalledFunction
from gateway.chat.tool_calls import CallSplitter, Parsed, parse

WEATHER = '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'
WEATHER_CALL = CalledFunction(name="get_weather", arguments='{"city": "Paris"}')


def test_a_call_with_object_arguments_gets_them_as_a_json_string():
    assert parse(WEATHER) == Parsed(None, [WEATHER_CALL])


def test_string_arguments_are_kept_as_written_and_missing_ones_are_empty():
    text = (
        '<tool_call>{"name": "a", "arguments": "{\\"x\\": 1}"}</tool_call>'
        '<tool_call>{"name": "b"}</tool_call>'
    )
    assert parse(text) == Parsed(
        None, [CalledFunction(name="a", arguments='{"x": 1}'), CalledFunction(name="b", arguments="{}")]
    )


def test_text_around_the_calls_is_the_content():
    assert parse(f"Let me look.\n{WEATHER}\n") == Parsed("Let me look.", [WEATHER_CALL])


@pytest.mark.parametrize(
    "text",
    [
        "Sunny in Paris.",
        "<tool_call>not json</tool_call>",
        '<tool_call>{"arguments": {}}</tool_call>',
        '<tool_call>["get_weather"]</tool_call>',
        f'{WEATHER}<tool_call>{{"name": </tool_call>',
        '<tool_call>{"name": "get_weather"}',
    ],
)
def test_text_without_well_formed_calls_is_content(text: str):
    assert parse(text) is None


def split(text: str, stopped: bool = True) -> tuple[str, str, list[CalledFunction]]:
    """Fed one character at a time: what was sent as it came, what `finish` sent, the calls."""
    splitter = CallSplitter()
    sent = "".join(splitter.feed(character) for character in text)
    rest, calls = splitter.finish(stopped)
    return sent, rest, calls


def test_content_streams_until_a_call_begins():
    assert split(f"Let me look. {WEATHER}") == ("Let me look. ", "", [WEATHER_CALL])


def test_text_that_only_looked_like_a_call_is_sent_once_it_is_clear():
    splitter = CallSplitter()
    assert splitter.feed("a <tool") == "a "
    assert splitter.feed("box>") == "<toolbox>"
    assert split("ends with <tool_") == ("ends with ", "<tool_", [])


def test_a_malformed_or_cut_off_call_is_sent_as_content_at_the_end():
    assert split("<tool_call>{oops}</tool_call>") == ("", "<tool_call>{oops}</tool_call>", [])
    assert split(WEATHER, stopped=False) == ("", WEATHER, [])
