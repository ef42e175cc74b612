from __future__ import annotations

import tracemalloc

from gateway.validation.lines import LineSplitter


def split(chunks: list[bytes], max_line_bytes: int = 1 << 20) -> list[tuple[int, bytes | None]]:
    splitter = LineSplitter(max_line_bytes)
    lines = [line for chunk in chunks for line in splitter.feed(chunk)]
    return lines + splitter.finish()


def test_lines_are_numbered_from_one_including_blank_ones() -> None:
    assert split([b"a\n\nb\n"]) == [(1, b"a"), (2, b""), (3, b"b")]


def test_last_line_without_newline_is_a_line() -> None:
    assert split([b"a\nb"]) == [(1, b"a"), (2, b"b")]
    assert split([b"a\n"]) == [(1, b"a")]
    assert split([]) == []


def test_lines_spanning_chunks_are_joined() -> None:
    assert split([b"ab", b"c\nd", b"e", b"\n", b"f"]) == [(1, b"abc"), (2, b"de"), (3, b"f")]


def test_bom_is_dropped_at_the_start_only_even_when_split() -> None:
    bom = b"\xef\xbb\xbf"
    assert split([bom[:1], bom[1:] + b"x\n" + bom + b"y"]) == [(1, b"x"), (2, bom + b"y")]


def test_crlf_keeps_the_carriage_return_for_the_json_decoder() -> None:
    assert split([b"a\r\nb\r\n"]) == [(1, b"a\r"), (2, b"b\r")]


def test_too_long_lines_come_out_as_none_and_the_next_line_is_intact() -> None:
    assert split([b"12345\n123456\n1"], max_line_bytes=5) == [(1, b"12345"), (2, None), (3, b"1")]
    assert split([b"123", b"456", b"\nok"], max_line_bytes=5) == [(1, None), (2, b"ok")]
    assert split([b"123", b"456"], max_line_bytes=5) == [(1, None)]


def test_a_huge_line_is_never_buffered_beyond_the_cap() -> None:
    splitter = LineSplitter(max_line_bytes=1 << 20)
    chunk = b"x" * (1 << 20)
    tracemalloc.start()
    for _ in range(48):
        assert splitter.feed(chunk) == []
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert splitter.feed(b"\nnext\n") == [(1, None), (2, b"next")]
    assert peak < 4 << 20
