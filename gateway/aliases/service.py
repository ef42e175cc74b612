"""The operator's model aliases: set (create or replace), list, get and delete a project's
aliases, each change written to the audit log. Another project's alias is unknown here."""

import time
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import audit
from gateway.admin.service import get_project
from gateway.aliases import repository
from gateway.aliases.schemas import MAX_NAME
from gateway.catalog import BaseModelSpec, resolve_base_model
from gateway.chat import service as chat_service
from gateway.errors import InvalidRequest, NotFound
from gateway.models import ModelAlias
from gateway.runtime import Runtime
from gateway.text import first_refusal

ALIAS_PARAM = "alias"
REPLACEMENT_PARAM = "replacement"


def alias_not_found(name: str) -> NotFound:
    return NotFound(f"No such model alias: {name}", param=ALIAS_PARAM, code="model_alias_not_found")


async def put(
    session: AsyncSession,
    runtime: Runtime,
    actor: str,
    project_id: str,
    name: str,
    replacement: str,
    active_from: int | None,
) -> ModelAlias:
    """Create the alias `name`, or replace what an existing one says. Setting what it already
    says changes nothing and writes nothing to the audit log."""
    await get_project(session, project_id)
    await _check_name(session, runtime, project_id, name)
    await _check_replacement(session, runtime.offered_models, project_id, name, replacement)
    alias = await repository.get(session, project_id, name)
    now = int(time.time())
    if alias is None:
        alias = ModelAlias(
            project_id=project_id,
            name=name,
            replacement=replacement,
            active_from=active_from,
            created_at=now,
            updated_at=now,
        )
        session.add(alias)
        try:
            await session.flush()
        except IntegrityError:  # a racing request created it first; this transaction is rolled back
            raise InvalidRequest(
                f"The alias `{name}` was created by another request meanwhile; send yours again.",
                param=ALIAS_PARAM,
            ) from None
        _record(session, actor, "model_alias.created", alias)
    elif (alias.replacement, alias.active_from) != (replacement, active_from):
        previous = _details(alias)
        alias.replacement, alias.active_from, alias.updated_at = replacement, active_from, now
        _record(session, actor, "model_alias.changed", alias, previous=previous)
    return alias


async def list_aliases(session: AsyncSession, project_id: str) -> list[ModelAlias]:
    await get_project(session, project_id)
    return await repository.list_for_project(session, project_id)


async def get(session: AsyncSession, project_id: str, name: str) -> ModelAlias:
    await get_project(session, project_id)
    alias = await repository.get(session, project_id, name)
    if alias is None:
        raise alias_not_found(name)
    return alias


async def delete(session: AsyncSession, actor: str, project_id: str, name: str) -> None:
    """From the next chat on, `name` goes where it went before the alias."""
    alias = await get(session, project_id, name)
    await session.delete(alias)
    _record(session, actor, "model_alias.deleted", alias)


async def _check_name(session: AsyncSession, runtime: Runtime, project_id: str, name: str) -> None:
    """An alias stands for a model ftgate does not serve itself (an upstream's model, one that
    is going away, or one that does not exist); it never hides a model that ftgate serves."""
    if not name or len(name) > MAX_NAME:
        raise InvalidRequest(f"An alias is 1 to {MAX_NAME} characters long.", param=ALIAS_PARAM)
    if (refusal := first_refusal(name, stored=True)) is not None:
        raise InvalidRequest(f"Invalid alias: {refusal[1]}.", param=ALIAS_PARAM)
    spec = resolve_base_model(runtime.offered_models, name)
    if spec is not None and chat_service.chats_here(runtime, spec.provider):
        raise InvalidRequest(
            f"`{name}` is a base model served here; an alias cannot shadow it.", param=ALIAS_PARAM
        )
    job = await chat_service.tuning_job(session, project_id, name)
    if job is not None and chat_service.chats_here(runtime, job.provider):
        raise InvalidRequest(
            f"`{name}` is a fine-tuned model of this project served here; an alias cannot shadow it.",
            param=ALIAS_PARAM,
        )
    pointing = await repository.replaced_by(session, project_id, name)
    if pointing is not None:
        raise InvalidRequest(
            f"`{name}` is the replacement of the alias `{pointing}`; aliases cannot be chained.",
            param=ALIAS_PARAM,
        )


async def _check_replacement(
    session: AsyncSession, offered: list[BaseModelSpec], project_id: str, name: str, replacement: str
) -> None:
    if replacement == name:
        raise InvalidRequest("An alias cannot point at itself.", param=REPLACEMENT_PARAM)
    if await repository.get(session, project_id, replacement) is not None:
        raise InvalidRequest(
            f"`{replacement}` is itself an alias; point at the model it stands for instead.",
            param=REPLACEMENT_PARAM,
        )
    if not await chat_service.project_serves(session, offered, project_id, replacement):
        raise InvalidRequest(
            f"The replacement `{replacement}` is not a model this project can chat with: name a base "
            "model offered here, or one of the project's fine-tuned models or checkpoints.",
            param=REPLACEMENT_PARAM,
            code="model_not_found",
        )


def _details(alias: ModelAlias) -> dict[str, Any]:
    return {"replacement": alias.replacement, "active_from": alias.active_from}


def _record(session: AsyncSession, actor: str, action: str, alias: ModelAlias, **extra: Any) -> None:
    audit.record(
        session,
        actor,
        action,
        project_id=alias.project_id,
        object_id=alias.name,
        details=_details(alias) | extra,
    )
