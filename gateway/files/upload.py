"""Receive one multipart upload: stream the file part to the blob store, hashing, counting and
validating it chunk by chunk, and enforce the size limit before the bytes are written.

Receiving (event loop) and storing + validating (a worker thread) overlap: a bounded channel of
a few 1 MiB chunks sits between them, so memory stays flat whatever the file's size.
"""

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from gateway.errors import GatewayError, InvalidRequest, PayloadTooLarge
from gateway.files import multipart
from gateway.files.purposes import FINE_TUNE, check_fields
from gateway.files.validator_pool import Validator, ValidatorPool
from gateway.storage import aio as blob_calls
from gateway.storage.base import BlobStore, BlobWriter
from gateway.validation import ValidationReport

FLUSH_BYTES = 1024 * 1024
CHUNKS_IN_FLIGHT = 4
# Counted at upload with the encoding and limit of current OpenAI models; a job on a model that
# differs has its file counted again during `validating_files`.
UPLOAD_ENCODING = "o200k_base"
UPLOAD_TOKEN_LIMIT = 65536
# The multipart field of an Upload's part (POST /v1/uploads/{id}/parts).
PART_FIELD = "data"


@dataclass(frozen=True)
class ReceivedUpload:
    fields: dict[str, str]
    filename: str
    size: int
    sha256: str
    report: ValidationReport | None


class _FileSink:
    """Runs in a worker thread: every chunk is counted, hashed, stored and validated."""

    def __init__(
        self,
        filename: str,
        writer: BlobWriter,
        max_bytes: int,
        validator: Validator | None,
        too_large: Callable[[int], GatewayError] | None = None,
    ):
        self.filename = filename
        self.writer = writer
        self.max_bytes = max_bytes
        self.validator = validator
        self.too_large = too_large or file_too_large
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, chunk: bytes, *, stored: bool = False) -> None:
        """`stored`: the chunk is in the blob already (spliced in by the store), only read here."""
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise self.too_large(self.max_bytes)
        self.digest.update(chunk)
        if not stored:
            self.writer.write(chunk)
        if self.validator is not None:
            self.validator.feed(chunk)

    async def drain(self, chunks: MemoryObjectReceiveStream[bytes]) -> None:
        async for chunk in chunks:
            await anyio.to_thread.run_sync(self.write, chunk)

    def finish(self) -> ValidationReport | None:
        return self.validator.finish() if self.validator is not None else None


def file_too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"File is too large. The maximum size for an uploaded file is {max_bytes} bytes.",
        param="file",
    )


def part_too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Part is too large. The maximum size of an upload part is {max_bytes} bytes.", param="data"
    )


def _one_part(name: str) -> InvalidRequest:
    return InvalidRequest(f"Send exactly one file part, named '{name}'.", param=name)


async def _open_sink(
    part: multipart.FileStart,
    fields: dict[str, str],
    blobs: BlobStore,
    blob_key: str,
    max_bytes: int,
    validators: ValidatorPool,
    resources: AsyncExitStack,
) -> _FileSink:
    if part.name != "file":
        raise _one_part("file")
    purpose = fields.get("purpose")
    if purpose is not None:  # refuse before the body streams in, when the form allows it
        check_fields(fields, part.filename)
    validator = None
    # The purpose may follow the file in the form; validate speculatively until it is known.
    if purpose in (None, FINE_TUNE):
        validator = await resources.enter_async_context(
            validators.session(UPLOAD_ENCODING, UPLOAD_TOKEN_LIMIT)
        )
    return _FileSink(part.filename, blobs.writer(blob_key), max_bytes, validator)


SinkOpener = Callable[[multipart.FileStart, dict[str, str], AsyncExitStack], Awaitable[_FileSink]]


async def receive_upload(
    *,
    content_type: str | None,
    body: AsyncIterator[bytes],
    blobs: BlobStore,
    blob_key: str,
    max_bytes: int,
    validators: ValidatorPool,
) -> ReceivedUpload:
    """Read the whole multipart body; the blob is committed only if this returns."""

    async def open_sink(
        part: multipart.FileStart, fields: dict[str, str], resources: AsyncExitStack
    ) -> _FileSink:
        return await _open_sink(part, fields, blobs, blob_key, max_bytes, validators, resources)

    fields, sink, report = await _receive(content_type, body, open_sink, "file")
    return ReceivedUpload(fields, sink.filename, sink.size, sink.digest.hexdigest(), report)


async def receive_part(
    *, content_type: str | None, body: AsyncIterator[bytes], blobs: BlobStore, blob_key: str, max_bytes: int
) -> int:
    """Read a multipart body of one `data` part (an Upload's part) into the blob `blob_key`, at
    most `max_bytes` of it, and say how many bytes it had; the blob is committed only if this
    returns. Parts are not validated: only the whole file is, once its Upload completes."""

    async def open_sink(
        part: multipart.FileStart, fields: dict[str, str], resources: AsyncExitStack
    ) -> _FileSink:
        if part.name != PART_FIELD:
            raise _one_part(PART_FIELD)
        return _FileSink(part.filename, blobs.writer(blob_key), max_bytes, None, part_too_large)

    _, sink, _ = await _receive(content_type, body, open_sink, PART_FIELD)
    return sink.size


async def _receive(
    content_type: str | None, body: AsyncIterator[bytes], open_sink: SinkOpener, file_field: str
) -> tuple[dict[str, str], _FileSink, ValidationReport | None]:
    fields: dict[str, str] = {}
    sink: _FileSink | None = None
    streamed = frozenset({PART_FIELD}) if file_field == PART_FIELD else frozenset()
    expected = "fields 'file' and 'purpose'" if file_field == "file" else f"a field '{file_field}'"
    try:
        async with AsyncExitStack() as resources:
            async with anyio.create_task_group() as workers:
                send, receive = anyio.create_memory_object_stream[bytes](CHUNKS_IN_FLIGHT)
                resources.callback(receive.close)  # runs after the workers are done with it
                async with send:
                    pending = bytearray()
                    async for part in multipart.read_parts(content_type, body, streamed, expected):
                        if isinstance(part, multipart.FieldPart):
                            fields[part.name] = part.value
                        elif isinstance(part, multipart.FileStart):
                            if sink is not None:
                                raise _one_part(file_field)
                            sink = await open_sink(part, fields, resources)
                            workers.start_soon(sink.drain, receive)
                        elif isinstance(part, multipart.FileData) and sink is not None:
                            pending += part.data
                            if len(pending) >= FLUSH_BYTES:
                                await send.send(bytes(pending))
                                pending.clear()
                    if pending:
                        await send.send(bytes(pending))
            if sink is None:
                raise InvalidRequest(f"Missing required parameter: '{file_field}'.", param=file_field)
            report = await anyio.to_thread.run_sync(sink.finish)
        await blob_calls.commit(sink.writer)
    except BaseException as error:
        if sink is not None:
            await blob_calls.abort(sink.writer)
        if isinstance(error, BaseExceptionGroup):
            raise _cause_of(error) from None
        raise
    return fields, sink, report


async def store_concatenation(
    *,
    sources: Sequence[tuple[str, int]],
    blobs: BlobStore,
    blob_key: str,
    fields: dict[str, str],
    filename: str,
    max_bytes: int,
    validators: ValidatorPool,
) -> tuple[ReceivedUpload, str]:
    """Store the blobs `sources` (key, bytes), one after the other, as the file `blob_key`:
    counted, hashed and validated (by `fields`' purpose) exactly as an uploaded file, in a worker
    thread. A source the store can splice in (S3: a part copied inside the bucket) is only read;
    the others are written. Returns the upload and the content's MD5 (hex). The blob is
    committed only if this returns; a source that is gone raises FileNotFoundError."""
    async with AsyncExitStack() as resources:
        validator = None
        if fields.get("purpose") == FINE_TUNE:
            validator = await resources.enter_async_context(
                validators.session(UPLOAD_ENCODING, UPLOAD_TOKEN_LIMIT)
            )
        sink = _FileSink(filename, blobs.writer(blob_key), max_bytes, validator)
        try:
            md5 = await anyio.to_thread.run_sync(_concatenate, sink, blobs, sources)
            report = await anyio.to_thread.run_sync(sink.finish)
        except BaseException:
            await blob_calls.abort(sink.writer)
            raise
    await blob_calls.commit(sink.writer)
    return ReceivedUpload(fields, filename, sink.size, sink.digest.hexdigest(), report), md5


def _concatenate(sink: _FileSink, blobs: BlobStore, sources: Sequence[tuple[str, int]]) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    for key, size in sources:
        spliced = sink.writer.splice(key, size)
        with blobs.open(key) as source:
            while chunk := source.read(FLUSH_BYTES):
                md5.update(chunk)
                sink.write(chunk, stored=spliced)
    return md5.hexdigest()


def _cause_of(group: BaseExceptionGroup) -> BaseException:
    """A task group wraps errors in a group; the client should see the refusal itself."""
    refusals, others = group.split(GatewayError)
    chosen = refusals or others
    assert chosen is not None
    while isinstance(chosen, BaseExceptionGroup):
        chosen = chosen.exceptions[0]
    return chosen
