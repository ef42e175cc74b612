"""What a job would train and cost, before any job exists: from a file's validation report,
the model's token limit and price, and the epochs "auto" would resolve to.

Billable tokens follow OpenAI's rule: Σ min(example tokens, limit) × epochs. A local model counts
exactly what its trainer will train and bill (`training.token_count`: its own tokenizer and chat
template), so the quote equals the finished job's `trained_tokens`.
"""

from typing import Literal

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.catalog import BaseModelSpec
from gateway.errors import InvalidRequest
from gateway.files import purposes
from gateway.files import service as files_service
from gateway.files.reports import report_for_model
from gateway.fine_tuning.hyperparameters import default_epochs
from gateway.fine_tuning.local_counts import LocalCount
from gateway.fine_tuning.service import resolve_model
from gateway.projects import Caller
from gateway.runtime import Runtime
from gateway.validation import ValidationReport


class Quote(BaseModel):
    object: Literal["fine_tuning.quote"] = "fine_tuning.quote"
    file_id: str | None
    model: str
    encoding: str
    is_valid: bool
    n_examples: int
    total_tokens: int
    billable_tokens_per_epoch: int
    n_over_limit: int
    n_epochs: int
    trained_tokens: int
    training_price_per_1m: float
    estimated_cost: float


def method_for(report: ValidationReport) -> str:
    """The training method a file's format is for."""
    return "dpo" if report.format == "preference" else "supervised"


def build_quote(
    report: ValidationReport,
    model: str,
    spec: BaseModelSpec,
    n_epochs: int | None,
    file_id: str | None,
    local: LocalCount | None = None,
) -> Quote:
    """`local`: the trainer's own count, for a local model."""
    epochs = n_epochs or default_epochs(report.n_examples)
    encoding, is_valid = report.encoding, report.is_valid
    per_epoch, total, over = report.billable_tokens, report.total_tokens, report.n_over_limit
    if local is not None:
        encoding, is_valid = f"{spec.id} tokenizer and chat template", is_valid and local.error is None
        per_epoch = total = local.tokens_per_epoch
        if local.count is not None:
            total, over = local.count.total_tokens, local.count.n_over_limit
    trained_tokens = per_epoch * epochs
    return Quote(
        file_id=file_id,
        model=model,
        encoding=encoding,
        is_valid=is_valid,
        n_examples=report.n_examples,
        total_tokens=total,
        billable_tokens_per_epoch=per_epoch,
        n_over_limit=over,
        n_epochs=epochs,
        trained_tokens=trained_tokens,
        training_price_per_1m=spec.training_price_per_1m,
        estimated_cost=round(trained_tokens * spec.training_price_per_1m / 1_000_000, 6),
    )


async def quote_file(
    session: AsyncSession, caller: Caller, runtime: Runtime, file_id: str, model: str, n_epochs: int | None
) -> Quote:
    stored = await files_service.retrieve(session, caller, file_id)
    if stored.validation is None:
        raise InvalidRequest(
            f"File {file_id} has purpose '{stored.purpose}'; "
            f"only '{purposes.FINE_TUNE}' files can be quoted.",
            param="file_id",
        )
    resolved, spec = await resolve_model(session, caller, runtime.offered_models, model)
    try:
        report = await report_for_model(stored, spec, runtime.blobs, runtime.validators)
        local = (
            await runtime.local_tokens.count(runtime.blobs, stored, spec, method_for(report))
            if spec.runs_here
            else None
        )
    except FileNotFoundError:
        raise files_service.not_found(file_id) from None
    return build_quote(report, resolved, spec, n_epochs, file_id, local)
