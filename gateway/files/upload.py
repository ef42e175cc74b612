"""Receive one multipart upload: stream the file part to the blob store, hashing, counting and
validating it chunk by chunk, and enforce the size limit before the bytes are written.

Receiving (event loop) and storing + validating (a worker thread) overlap: a bounded channel of
a few 1 MiB chunks sits between them, so memory stays flat whatever the file's size.
"""

import hashlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from gateway.errors import GatewayError, InvalidRequest, PayloadTooLarge
from gateway.files import multipart
from gateway.files.purposes import FINE_TUNE, check_fields
from gateway.files.validator_pool import Validator, ValidatorPool
from gateway.storage.base import BlobStore, BlobWriter
from gateway.validation import ValidationReport

FLUSH_BYTES = 1024 * 1024
CHUNKS_IN_FLIGHT = 4
# Counted at upload with the encoding and limit of current OpenAI models; a job on a model that
# differs has its file counted again during `validating_files`.
UPLOAD_ENCODING = "o200k_base"
UPLOAD_TOKEN_LIMIT = 65536


@dataclass(frozen=True)
class ReceivedUpload:
    fields: dict[str, str]
    filename: str
    size: int
    sha256: str
    report: ValidationReport | None


class _FileSink:
    """Runs in a worker thread: every chunk is counted, hashed, stored and validated."""

    def __init__(self, filename: str, writer: BlobWriter, max_bytes: int, validator: Validator | None):
        self.filename = filename
        self.writer = writer
        self.max_bytes = max_bytes
        self.validator = validator
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise file_too_large(self.max_bytes)
        self.digest.update(chunk)
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
        raise InvalidRequest("Send exactly one file part, named 'file'.", param="file")
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
    fields: dict[str, str] = {}
    sink: _FileSink | None = None
    try:
        async with AsyncExitStack() as resources:
            async with anyio.create_task_group() as workers:
                send, receive = anyio.create_memory_object_stream[bytes](CHUNKS_IN_FLIGHT)
                resources.callback(receive.close)  # runs after the workers are done with it
                async with send:
                    pending = bytearray()
                    async for part in multipart.read_parts(content_type, body):
                        if isinstance(part, multipart.FieldPart):
                            fields[part.name] = part.value
                        elif isinstance(part, multipart.FileStart):
                            if sink is not None:
                                raise InvalidRequest(
                                    "Send exactly one file part, named 'file'.", param="file"
                                )
                            sink = await _open_sink(
                                part, fields, blobs, blob_key, max_bytes, validators, resources
                            )
                            workers.start_soon(sink.drain, receive)
                        elif isinstance(part, multipart.FileData) and sink is not None:
                            pending += part.data
                            if len(pending) >= FLUSH_BYTES:
                                await send.send(bytes(pending))
                                pending.clear()
                    if pending:
                        await send.send(bytes(pending))
            if sink is None:
                raise InvalidRequest("Missing required parameter: 'file'.", param="file")
            report = await anyio.to_thread.run_sync(sink.finish)
        sink.writer.commit()
    except BaseException as error:
        if sink is not None:
            sink.writer.abort()
        if isinstance(error, BaseExceptionGroup):
            raise _cause_of(error) from None
        raise
    return ReceivedUpload(fields, sink.filename, sink.size, sink.digest.hexdigest(), report)


def _cause_of(group: BaseExceptionGroup) -> BaseException:
    """A task group wraps errors in a group; the client should see the refusal itself."""
    refusals, others = group.split(GatewayError)
    chosen = refusals or others
    assert chosen is not None
    while isinstance(chosen, BaseExceptionGroup):
        chosen = chosen.exceptions[0]
    return chosen
