"""Streaming text rules: incomplete characters wait, stop sequences never leak."""

import pytest

from gateway.inference.text_stream import Detokenizer, StopMatcher

# A toy byte-level vocabulary: each id is one byte, so "é" takes two tokens.
TEXT = "Sé 🙂!"
IDS = list(TEXT.encode())


def decode(ids) -> str:
    return bytes(ids).decode("utf-8", errors="replace")


def test_detokenizer_waits_for_whole_characters():
    detokenizer = Detokenizer(decode)
    deltas = [detokenizer.push(token) for token in IDS]
    assert "".join(deltas) == TEXT
    assert all("\ufffd" not in delta for delta in deltas)
    assert deltas[1:3] == ["", "é"]


def feed_all(stops, pieces):
    matcher = StopMatcher(stops)
    out = []
    for piece in pieces:
        out.append(matcher.feed(piece))
        if matcher.stopped:
            return "".join(out), True, out
    out.append(matcher.flush())
    return "".join(out), False, out


@pytest.mark.parametrize(
    ("stops", "pieces", "text", "stopped"),
    [
        (["END"], ["Hello ", "E", "N", "D", " more"], "Hello ", True),
        (["END"], ["Hello E", "NTRY"], "Hello ENTRY", False),
        (["\n\n", "."], ["a\n", "\nb."], "a", True),
        (["ab", "b"], ["xa", "b"], "x", True),
        (["abc"], ["xab"], "xab", False),
        ([""], ["abc"], "abc", False),
        (["x"], ["x"], "", True),
    ],
)
def test_stop_sequences(stops, pieces, text, stopped):
    assert feed_all(stops, pieces)[:2] == (text, stopped)


def test_text_that_may_begin_a_stop_sequence_is_held_back_only_that_long():
    matcher = StopMatcher(["<end>"])
    assert matcher.feed("one <e") == "one "
    assert matcher.feed("x") == "<ex"
    assert matcher.feed("<en") == ""
    assert matcher.flush() == "<en"
