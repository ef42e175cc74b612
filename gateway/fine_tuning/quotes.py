"""What a job would train and cost, before any job exists: from a file's validation report,
the model's token limit and price, and the epochs "auto" would resolve to.

Billable tokens follow OpenAI's rule: Σ min(example tokens, limit) × epochs. A local model counts
exactly what its trainer will train and bill (`training.token_count`: its own tokenizer and chat
template), so the quote equals the finished job's `trained_tokens`.

Where the model's upstream gives its own price estimate (`upstream_estimates`), the quote shows
what a job would reserve against budgets: the larger of ftgate's figure and the upstream's.
Together's estimate-price is asked for the file's copy there (uploaded once, as the job would; the
job then reuses it). Fireworks shows its `estimatedCost` only on a job it has created, so its quote
says so and shows no upstream figure. The upstream's refusals and failures never fail the quote:
it comes without the upstream's figure and says why in `upstream_note` (a Together account that may
not run the job: its words, and the job would fail before it is sent).
"""

from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.budgets import pricing
from gateway.catalog import BaseModelSpec
from gateway.errors import InvalidRequest
from gateway.files import purposes
from gateway.files import service as files_service
from gateway.files.reports import report_for_model
from gateway.files.upstream_copies import MissingFile, UploadInProgress, forget, upload_once
from gateway.fine_tuning.hyperparameters import default_epochs
from gateway.fine_tuning.local_counts import LocalCount
from gateway.fine_tuning.service import resolve_model
from gateway.projects import Caller
from gateway.providers.base import Provider, UpstreamError, UpstreamFileNotFound
from gateway.providers.config import ESTIMATES_BEFORE_JOB, UpstreamSpec
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
    upstream_estimated_cost: float | None = Field(
        default=None,
        description="the upstream's own estimate in USD, where the operator asked for it "
        "(`upstream_estimates`) and the upstream gives one before a job exists (Together)",
    )
    reserved_cost: float = Field(
        description="what a job reserves against budgets: the larger of estimated_cost and "
        "upstream_estimated_cost"
    )
    reserves: Literal["quote", "upstream_estimate"] = Field(
        default="quote", description="which figure reserved_cost is"
    )
    upstream_note: str | None = Field(
        default=None,
        description="why the upstream's estimate is not shown (an upstream that estimates only a "
        "created job, or could not be asked), or the upstream's words refusing the job",
    )


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
    cost = round(trained_tokens * spec.training_price_per_1m / 1_000_000, 6)
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
        estimated_cost=cost,
        reserved_cost=cost,
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
    resolved, spec = await resolve_model(session, caller, runtime, model)
    try:
        report = await report_for_model(stored, spec, runtime.blobs, runtime.validators)
        local = (
            await runtime.local_tokens.count(runtime.blobs, stored, spec, method_for(report))
            if spec.runs_here
            else None
        )
    except FileNotFoundError:
        raise files_service.not_found(file_id) from None
    quote = build_quote(report, resolved, spec, n_epochs, file_id, local)
    upstream = next((one for one in runtime.settings.upstreams if one.name == spec.provider), None)
    provider = runtime.providers.get(spec.provider)
    if upstream is None or provider is None or not upstream.upstream_estimates:
        return quote
    if upstream.kind not in ESTIMATES_BEFORE_JOB:
        return quote.model_copy(
            update={
                "upstream_note": f"The upstream {upstream.name} shows its estimate only on a job it "
                "has created: a job reserves the larger of it and this quote once it is read."
            }
        )
    # What a job's create sends: epochs where the quote names them, else the upstream's default.
    hyperparameters = {} if n_epochs is None else {"n_epochs": n_epochs}
    request = {
        "model": resolved if resolved != spec.id else spec.upstream_model or spec.id,
        "method": {"type": method_for(report), method_for(report): {"hyperparameters": hyperparameters}},
    }
    return _with_upstream_estimate(
        quote, upstream, await _upstream_estimate(runtime, provider, caller, file_id, request)
    )


def _with_upstream_estimate(quote: Quote, upstream: UpstreamSpec, estimate: int | str | None) -> Quote:
    """The quote with the upstream's `estimate` (micro-USD), or with why there is none (a text)."""
    if isinstance(estimate, str):
        return quote.model_copy(update={"upstream_note": estimate})
    if estimate is None:
        note = f"The upstream {upstream.name} has no estimate for this job."
        return quote.model_copy(update={"upstream_note": note})
    dearer = estimate > pricing.usd_to_micros(quote.estimated_cost)
    return quote.model_copy(
        update={
            "upstream_estimated_cost": pricing.micros_to_usd(estimate),
            "reserved_cost": pricing.micros_to_usd(estimate) if dearer else quote.estimated_cost,
            "reserves": "upstream_estimate" if dearer else "quote",
        }
    )


async def _upstream_estimate(
    runtime: Runtime, provider: Provider, caller: Caller, file_id: str, request: dict[str, Any]
) -> int | str | None:
    """The upstream's estimate for `request` on the copy of `file_id` there, or why there is
    none. A copy the upstream lost is uploaded again, once."""
    for _ in range(2):
        try:
            request["training_file"] = await upload_once(runtime, provider, caller.project_id, file_id)
            return await provider.estimate_cost(request)
        except UpstreamFileNotFound as missing:
            await forget(runtime, file_id, provider.name, missing.file_id)
        except UploadInProgress:
            return (
                f"The file is being uploaded to the upstream {provider.name} for a job; "
                "quote again shortly for the upstream's estimate."
            )
        except MissingFile:
            raise files_service.not_found(file_id) from None
        except UpstreamError as error:
            if error.retryable:
                return f"The upstream {provider.name} could not be asked for its estimate: {error.message}"
            return f"{error.message} A job would fail before it is sent."
    return f"The upstream {provider.name} lost the file again right after its upload; no estimate."
