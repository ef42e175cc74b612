from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.errors import InvalidRequest
from gateway.files.multipart import MAX_FIELD_BYTES, FieldPart, FileData, FileEnd, FileStart, read_parts

# File bytes that look like the start of a delimiter ("\r\n--") without being one.
CONTENT = b'{"messages": []}\r\n--not a boundary\r\n-\n{"x": 1}\n'


def encode(data: dict, files: dict) -> tuple[str, bytes]:
    request = httpx.Request("POST", "http://x", data=data, files=files)
    return request.headers["content-type"], request.read()


CONTENT_TYPE, BODY = encode(
    {"purpose": "fine-tune", "note": "héllo"}, {"file": ("train.jsonl", CONTENT, "application/jsonl")}
)


async def chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def collect(content_type: str | None, body: bytes, size: int) -> list:
    return [part async for part in read_parts(content_type, chunks(body, size))]


@pytest.mark.parametrize("size", range(1, 65))
async def test_parts_survive_every_chunk_size(size):
    parts = await collect(CONTENT_TYPE, BODY, size)
    data = b"".join(part.data for part in parts if isinstance(part, FileData))
    others = [part for part in parts if not isinstance(part, FileData)]
    assert others == [
        FieldPart("purpose", "fine-tune"),
        FieldPart("note", "héllo"),
        FileStart("file", "train.jsonl"),
        FileEnd(),
    ]
    assert data == CONTENT
    assert parts.index(FileStart("file", "train.jsonl")) < parts.index(FileEnd())


@pytest.mark.parametrize("content_type", [None, "multipart/form-data", "application/json; boundary=abc", ""])
async def test_body_without_multipart_boundary_is_refused(content_type):
    with pytest.raises(InvalidRequest):
        await collect(content_type, BODY, 64)


async def test_oversize_form_field_is_refused():
    content_type, body = encode(
        {"purpose": "x" * (MAX_FIELD_BYTES + 1)}, {"file": ("a.jsonl", b"{}", "text/plain")}
    )
    with pytest.raises(InvalidRequest) as caught:
        await collect(content_type, body, 4096)
    assert caught.value.param == "purpose"


async def test_field_at_the_limit_is_kept():
    content_type, body = encode(
        {"purpose": "x" * MAX_FIELD_BYTES}, {"file": ("a.jsonl", b"{}", "text/plain")}
    )
    parts = await collect(content_type, body, 4096)
    assert parts[0] == FieldPart("purpose", "x" * MAX_FIELD_BYTES)


async def test_truncated_body_is_refused():
    """Cut anywhere before the closing delimiter `--boundary--` is complete, the body is refused:
    a partial file must never be taken for a whole one."""
    closing = len(BODY) - len(b"\r\n")  # the trailing CRLF after the closing delimiter is optional
    for cut in range(closing):
        with pytest.raises(InvalidRequest):
            await collect(CONTENT_TYPE, BODY[:cut], 7)
    for cut in range(closing, len(BODY) + 1):
        assert (await collect(CONTENT_TYPE, BODY[:cut], 7))[-1] == FileEnd()


async def test_body_that_does_not_start_with_the_boundary_is_refused():
    with pytest.raises(InvalidRequest, match="Invalid multipart body"):
        await collect(CONTENT_TYPE, b"not multipart at all\r\n\r\n", 5)


async def test_a_streamed_field_is_file_data_even_without_a_filename():
    content_type, body = encode({"data": "x" * (MAX_FIELD_BYTES + 1)}, {"other": ("o.txt", b"o")})
    parts = [part async for part in read_parts(content_type, chunks(body, 4096), frozenset({"data"}))]
    assert parts[0] == FileStart("data", "")
    assert b"".join(part.data for part in parts[1:] if isinstance(part, FileData)).startswith(
        b"x" * MAX_FIELD_BYTES
    )
    assert FileStart("other", "o.txt") in parts
