"""Models a project sees: the base models offered here (local, or run by a configured upstream),
its own fine-tuned models of those, and its aliases in force (each listed under its own name,
owned by the project's organization, in place of any model of that name). `catalog` is always
the offered models."""

import time

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.aliases import repository as aliases_repository
from gateway.catalog import BaseModelSpec, resolve_base_model
from gateway.errors import NotFound, PermissionDenied
from gateway.fine_tuning import repository as jobs_repository
from gateway.models import ModelAlias
from gateway.models_api.schemas import Model
from gateway.projects import Caller


def model_not_found(name: str) -> NotFound:
    return NotFound(f"The model '{name}' does not exist", param="model", code="model_not_found")


def _base(spec: BaseModelSpec, name: str | None = None) -> Model:
    return Model(id=name or spec.id, created=spec.created, owned_by=spec.owned_by)


def _alias(alias: ModelAlias, caller: Caller) -> Model:
    return Model(id=alias.name, created=alias.created_at, owned_by=caller.organization_id)


async def list_models(session: AsyncSession, caller: Caller, catalog: list[BaseModelSpec]) -> list[Model]:
    tuned = await jobs_repository.fine_tuned_models(session, caller.project_id)
    aliases = await aliases_repository.active(session, caller.project_id, int(time.time()))
    aliased = {alias.name for alias in aliases}
    models = [_base(spec) for spec in catalog] + [
        Model(
            id=job.fine_tuned_model,
            created=job.finished_at or job.created_at,
            owned_by=caller.organization_id,
        )
        for job in tuned
        if job.fine_tuned_model and resolve_base_model(catalog, job.base_model) is not None
    ]
    return [model for model in models if model.id not in aliased] + [
        _alias(alias, caller) for alias in aliases
    ]


async def retrieve(session: AsyncSession, caller: Caller, catalog: list[BaseModelSpec], name: str) -> Model:
    alias = await _active_alias(session, caller, name)
    if alias is not None:
        return _alias(alias, caller)
    spec = resolve_base_model(catalog, name)
    if spec is not None:
        return _base(spec, name)
    job = await jobs_repository.by_fine_tuned_model(session, caller.project_id, name)
    if job is None or resolve_base_model(catalog, job.base_model) is None:
        raise model_not_found(name)
    return Model(id=name, created=job.finished_at or job.created_at, owned_by=caller.organization_id)


async def _active_alias(session: AsyncSession, caller: Caller, name: str) -> ModelAlias | None:
    alias = await aliases_repository.get(session, caller.project_id, name)
    return alias if alias is not None and alias.in_force(int(time.time())) else None


async def delete(session: AsyncSession, caller: Caller, catalog: list[BaseModelSpec], name: str) -> None:
    if await _active_alias(session, caller, name) is not None:
        raise PermissionDenied(
            f"You do not have permission to delete the model alias '{name}'; "
            "aliases are managed by your ftgate operator.",
            param="model",
            code="model_not_deletable",
        )
    if resolve_base_model(catalog, name) is not None:
        raise PermissionDenied(
            f"You do not have permission to delete the base model '{name}'; "
            "only fine-tuned models can be deleted.",
            param="model",
            code="model_not_deletable",
        )
    job = await jobs_repository.by_fine_tuned_model(session, caller.project_id, name)
    if job is None:
        raise model_not_found(name)
    job.fine_tuned_model_deleted_at = int(time.time())
