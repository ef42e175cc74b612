"""A fine-tune file's validation report as a given base model sees it.

Uploads are counted with o200k_base and a 65,536-token limit; a model with another encoding or
limit gets the stored file counted again, in a validator child process.
"""

import anyio

from gateway.catalog import BaseModelSpec
from gateway.files.upload import UPLOAD_ENCODING, UPLOAD_TOKEN_LIMIT
from gateway.files.validator_pool import Validator, ValidatorPool
from gateway.models import StoredFile
from gateway.storage.base import BlobStore
from gateway.validation import ValidationReport


async def report_for_upload(blobs: BlobStore, blob_key: str, validators: ValidatorPool) -> ValidationReport:
    """The report an upload of the stored blob would have got (a file whose content came in
    another way: an imported file's content supplied by the operator)."""
    async with validators.session(UPLOAD_ENCODING, UPLOAD_TOKEN_LIMIT) as validator:
        return await anyio.to_thread.run_sync(_feed_blob, blobs, blob_key, validator)


async def report_for_model(
    stored: StoredFile, spec: BaseModelSpec, blobs: BlobStore, validators: ValidatorPool
) -> ValidationReport:
    """Raises FileNotFoundError when the blob is gone."""
    assert stored.validation is not None
    report = ValidationReport.from_dict(stored.validation)
    if report.encoding == spec.encoding and report.token_limit == spec.token_limit:
        return report
    async with validators.session(spec.encoding, spec.token_limit) as validator:
        return await anyio.to_thread.run_sync(_feed_blob, blobs, stored.blob_key, validator)


def _feed_blob(blobs: BlobStore, blob_key: str, validator: Validator) -> ValidationReport:
    with blobs.open(blob_key) as content:
        while chunk := content.read(1024 * 1024):
            validator.feed(chunk)
    return validator.finish()
