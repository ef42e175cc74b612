"""What a job would train and cost, before any job exists: from a file's validation report,
the model's token limit and price, and the epochs "auto" would resolve to.

Billable tokens follow OpenAI's rule: Σ min(example tokens, limit) × epochs.
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


def build_quote(
    report: ValidationReport, model: str, spec: BaseModelSpec, n_epochs: int | None, file_id: str | None
) -> Quote:
    epochs = n_epochs or default_epochs(report.n_examples)
    trained_tokens = report.billable_tokens * epochs
    return Quote(
        file_id=file_id,
        model=model,
        encoding=report.encoding,
        is_valid=report.is_valid,
        n_examples=report.n_examples,
        total_tokens=report.total_tokens,
        billable_tokens_per_epoch=report.billable_tokens,
        n_over_limit=report.n_over_limit,
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
    except FileNotFoundError:
        raise files_service.not_found(file_id) from None
    return build_quote(report, resolved, spec, n_epochs, file_id)
