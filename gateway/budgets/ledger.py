"""The rules of budgets and limits: what a new job reserves, what a finished one costs, and
what a project or key may still do. Each check looks at the key's limits and its project's.

A job reserves ftgate's quote at creation; where the operator wants its upstream's figure too,
it holds the larger of that quote and the upstream's estimate."""

import time
from collections.abc import Iterator

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.budgets import pricing, repository
from gateway.budgets.limits import Limits
from gateway.budgets.limits import parse as parse_limits
from gateway.catalog import BaseModelSpec
from gateway.errors import InsufficientQuota, InvalidRequest
from gateway.models import ChatUsage, JobCharge
from gateway.observability.metrics import BUDGET_REFUSALS
from gateway.projects import Caller

QUOTA_MESSAGE = "You exceeded your current quota, please check your plan and billing details."
PERIOD_ADJECTIVES = {"day": "daily", "month": "monthly"}


def _scopes(caller: Caller) -> Iterator[tuple[str, str | None, Limits]]:
    """(name, key id to filter on or None for the whole project, limits)."""
    return _scopes_of(caller.project_limits, caller.key_id, caller.key_limits)


def _scopes_of(
    project_limits: Limits, key_id: str | None, key_limits: Limits
) -> Iterator[tuple[str, str | None, Limits]]:
    yield "project", None, project_limits
    yield "API key", key_id, key_limits


def _refuse(limit: str, scope: str, reason: str) -> InsufficientQuota:
    """The refusal, counted by the limit (a field of `Limits`) and the scope that refused."""
    BUDGET_REFUSALS.labels(limit, scope).inc()
    return InsufficientQuota(f"{QUOTA_MESSAGE} {reason} Ask your ftgate operator to raise the limit.")


def require_model_allowed(caller: Caller, spec: BaseModelSpec, name: str) -> None:
    for scope, _, limits in _scopes(caller):
        if not limits.allows(spec):
            raise InvalidRequest(
                f"Model {name} is not allowed for this {scope}; allowed base models: "
                f"{', '.join(limits.models or [])}.",
                param="model",
                code="model_not_allowed",
            )


async def reserve_job(
    session: AsyncSession, caller: Caller, job_id: str, spec: BaseModelSpec, trained_tokens: int
) -> JobCharge:
    """Reserve the quoted cost of a new job against every budget, or refuse it. Reservations of
    one project take turns on its lock, so two racing for the last dollars cannot both pass."""
    price = pricing.usd_to_micros(spec.training_price_per_1m)
    cost = pricing.cost_micros(trained_tokens, price)
    now = int(time.time())
    await repository.lock_project(session, caller.project_id)
    for scope, key_id, limits in _scopes(caller):
        if limits.concurrent_jobs is not None:
            running = await repository.unfinished_jobs(session, caller.project_id, key_id)
            if running + 1 > limits.concurrent_jobs:
                raise _refuse(
                    "concurrent_jobs",
                    scope,
                    f"This {scope} may run {limits.concurrent_jobs} fine-tuning jobs at once and "
                    f"{running} have not finished.",
                )
        if limits.spend_usd is not None or limits.trained_tokens is not None:
            used = await repository.used_since(session, caller.project_id, key_id, limits.period_start(now))
            _check_job_budget(scope, limits, used, spec, trained_tokens, cost)
    charge = JobCharge(
        job_id=job_id,
        project_id=caller.project_id,
        key_id=caller.key_id,
        base_model=spec.id,
        created_at=now,
        price_micros_per_1m=price,
        reserved_tokens=trained_tokens,
        reserved_micros=cost,
        settled_at=None,
        settled_tokens=None,
        settled_micros=None,
    )
    session.add(charge)
    return charge


def _check_job_budget(
    scope: str, limits: Limits, used: repository.Used, spec: BaseModelSpec, trained_tokens: int, cost: int
) -> None:
    period = PERIOD_ADJECTIVES[limits.period]
    if limits.spend_usd is not None:
        budget = pricing.usd_to_micros(limits.spend_usd)
        if used.micros + cost > budget:
            left = pricing.usd_text(max(budget - used.micros, 0))
            raise _refuse(
                "spend_usd",
                scope,
                f"This job would cost {pricing.usd_text(cost)} ({trained_tokens:,} trained tokens at "
                f"${spec.training_price_per_1m:g} per 1M) and {left} of this {scope}'s {period} budget "
                f"of {pricing.usd_text(budget)} is left.",
            )
    if limits.trained_tokens is not None and used.trained_tokens + trained_tokens > limits.trained_tokens:
        left_tokens = max(limits.trained_tokens - used.trained_tokens, 0)
        raise _refuse(
            "trained_tokens",
            scope,
            f"This job would train {trained_tokens:,} tokens and {left_tokens:,} of this {scope}'s "
            f"{period} {limits.trained_tokens:,} are left.",
        )


async def reserve_upstream_estimate(
    session: AsyncSession, job_id: str, upstream: str, estimate_micros: int
) -> None:
    """Before the job is sent: raise its reservation to the upstream's estimate where that is
    the larger, or refuse it (InsufficientQuota, as a create is refused) when a budget cannot
    hold the difference. Takes its turn on the project's lock, as a reservation does."""
    charge = await repository.open_charge(session, job_id)
    if charge is None or estimate_micros <= charge.reserved_micros:
        return
    now = int(time.time())
    quote = pricing.cost_micros(charge.reserved_tokens, charge.price_micros_per_1m)
    await repository.lock_project(session, charge.project_id)
    project_limits, key_limits = await repository.stored_limits(session, charge.project_id, charge.key_id)
    for scope, key_id, scope_limits in _scopes_of(
        parse_limits(project_limits), charge.key_id, parse_limits(key_limits)
    ):
        if scope_limits.spend_usd is None:
            continue
        since = scope_limits.period_start(now)
        used = await repository.used_since(session, charge.project_id, key_id, since)
        others = used.micros - (charge.reserved_micros if charge.created_at >= since else 0)
        budget = pricing.usd_to_micros(scope_limits.spend_usd)
        if others + estimate_micros > budget:
            raise _refuse(
                "spend_usd",
                scope,
                f"The upstream {upstream} estimates this job at {pricing.usd_text(estimate_micros)}, "
                f"more than ftgate's quote of {pricing.usd_text(quote)}, and "
                f"{pricing.usd_text(max(budget - others, 0))} of this {scope}'s "
                f"{PERIOD_ADJECTIVES[scope_limits.period]} budget of {pricing.usd_text(budget)} is left.",
            )
    charge.reserved_micros = estimate_micros


async def hold_upstream_estimate(session: AsyncSession, job_id: str, estimate_micros: int) -> None:
    """Raise a job's reservation to the upstream's estimate read on its job (Fireworks) where that
    is the larger. The job already runs upstream, so no budget refuses it here: what it holds
    counts against the jobs after it."""
    charge = await repository.open_charge(session, job_id)
    if charge is not None and estimate_micros > charge.reserved_micros:
        charge.reserved_micros = estimate_micros


async def settle_job(session: AsyncSession, job_id: str, trained_tokens: int | None) -> None:
    """Bill a finished job on what it really trained (a cancelled or failed one too, on the steps
    it trained); the rest of its reservation is given back. A job that trained nothing gives back
    all of it."""
    charge = await repository.open_charge(session, job_id)
    if charge is None:
        return
    tokens = trained_tokens or 0
    charge.settled_at = int(time.time())
    charge.settled_tokens = tokens
    charge.settled_micros = pricing.cost_micros(tokens, charge.price_micros_per_1m)


async def admit_file(session: AsyncSession, caller: Caller, size: int) -> None:
    """Refuse a file that would take a project or key over its stored bytes or file count."""
    if all(limits.stored_bytes is None and limits.files is None for _, _, limits in _scopes(caller)):
        return
    now = int(time.time())
    await repository.lock_project(session, caller.project_id)
    for scope, key_id, limits in _scopes(caller):
        stored_bytes, count = await repository.stored_files(session, caller.project_id, key_id, now)
        if limits.files is not None and count + 1 > limits.files:
            raise _refuse(
                "files", scope, f"This {scope} may keep {limits.files:,} files and keeps {count:,}."
            )
        if limits.stored_bytes is not None and stored_bytes + size > limits.stored_bytes:
            raise _refuse(
                "stored_bytes",
                scope,
                f"This file has {size:,} bytes and this {scope} may keep {limits.stored_bytes:,} bytes, "
                f"of which {stored_bytes:,} are used.",
            )


async def require_chat_budget(session: AsyncSession, caller: Caller) -> None:
    """Chat spends the same budget as training; once it is spent, chat stops too."""
    now = int(time.time())
    for scope, key_id, limits in _scopes(caller):
        if limits.spend_usd is None:
            continue
        budget = pricing.usd_to_micros(limits.spend_usd)
        used = await repository.used_since(session, caller.project_id, key_id, limits.period_start(now))
        if used.micros >= budget:
            period = PERIOD_ADJECTIVES[limits.period]
            raise _refuse(
                "spend_usd", scope, f"This {scope}'s {period} budget of {pricing.usd_text(budget)} is spent."
            )


def record_chat(
    session: AsyncSession, caller: Caller, model: str, spec: BaseModelSpec, prompt: int, completion: int
) -> None:
    cost = pricing.cost_micros(prompt, pricing.usd_to_micros(spec.chat_input_price_per_1m))
    cost += pricing.cost_micros(completion, pricing.usd_to_micros(spec.chat_output_price_per_1m))
    session.add(
        ChatUsage(
            project_id=caller.project_id,
            key_id=caller.key_id,
            model=model,
            created_at=int(time.time()),
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_micros=cost,
        )
    )
