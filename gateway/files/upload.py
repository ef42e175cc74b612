"""Receive one multipart upload: stream the file part to the blob store, hashing, counting and
validating it chunk by chunk, and enforce the size limit before the bytes are written."""

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio

from gateway.errors import InvalidRequest, PayloadTooLarge
from gateway.files import multipart
from gateway.files.purposes import FINE_TUNE, require_jsonl_name
from gateway.storage.base import BlobStore, BlobWriter
from gateway.validation import TrainingFileValidator, ValidationReport

FLUSH_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ReceivedUpload:
    fields: dict[str, str]
    filename: str
    size: int
    sha256: str
    report: ValidationReport | None


class _FileSink:
    """Runs in a worker thread: every chunk is counted, hashed, stored and validated."""

    def __init__(self, writer: BlobWriter, max_bytes: int, validator: TrainingFileValidator | None):
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

    def finish(self) -> ValidationReport | None:
        return self.validator.finish() if self.validator is not None else None


def file_too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"File is too large. The maximum size for an uploaded file is {max_bytes} bytes.",
        param="file",
    )


async def receive_upload(
    *,
    content_type: str | None,
    body: AsyncIterator[bytes],
    blobs: BlobStore,
    blob_key: str,
    max_bytes: int,
) -> ReceivedUpload:
    """Read the whole multipart body; the blob is committed only if this returns."""
    fields: dict[str, str] = {}
    sink: _FileSink | None = None
    filename = ""
    pending = bytearray()
    try:
        async for part in multipart.read_parts(content_type, body):
            if isinstance(part, multipart.FieldPart):
                fields[part.name] = part.value
            elif isinstance(part, multipart.FileStart):
                if part.name != "file" or sink is not None:
                    raise InvalidRequest("Send exactly one file part, named 'file'.", param="file")
                filename = part.filename
                purpose = fields.get("purpose")
                if purpose == FINE_TUNE:
                    require_jsonl_name(filename)
                validator = TrainingFileValidator() if purpose in (None, FINE_TUNE) else None
                sink = _FileSink(blobs.writer(blob_key), max_bytes, validator)
            elif isinstance(part, multipart.FileData) and sink is not None:
                pending += part.data
                if len(pending) >= FLUSH_BYTES:
                    await anyio.to_thread.run_sync(sink.write, bytes(pending))
                    pending.clear()
        if sink is None:
            raise InvalidRequest("Missing required parameter: 'file'.", param="file")
        if pending:
            await anyio.to_thread.run_sync(sink.write, bytes(pending))
        report = await anyio.to_thread.run_sync(sink.finish)
        sink.writer.commit()
    except BaseException:
        if sink is not None:
            sink.writer.abort()
        raise
    return ReceivedUpload(fields, filename, sink.size, sink.digest.hexdigest(), report)
