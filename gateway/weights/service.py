"""Weights export: a fine-tuned model's adapter (its PEFT folder), or its base model with the
adapter merged in, as a tar the caller downloads. Models trained here and models brought home
have their weights here; an upstream's models have theirs at the upstream, which says so.

The archive holds one folder: the adapter's files (or the merged model's), the base model's
tokenizer and chat template files, and `ftgate-export.json` naming the model and its base."""

import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import artifacts
from gateway.aliases import repository as aliases_repository
from gateway.catalog import BaseModelSpec, resolve_base_model
from gateway.chat.service import chats_here, home_of
from gateway.errors import InvalidRequest, ServerError
from gateway.fine_tuning import repository as jobs_repository
from gateway.models import Job
from gateway.models_api.service import model_not_found
from gateway.projects import Caller
from gateway.providers.base import AdapterSource
from gateway.runtime import Runtime
from gateway.weights.archive import TarStream
from gateway.weights.tokenizer_files import tokenizer_files

log = logging.getLogger(__name__)

WeightsFormat = Literal["adapter", "merged"]
ADAPTER_CONFIG = "adapter_config.json"
METADATA = "ftgate-export.json"


@dataclass(frozen=True)
class Weights:
    """A fine-tuned model's weights here: its adapter, on a base model that runs here."""

    model: str
    job: Job
    base: BaseModelSpec
    adapter: Path


@dataclass(frozen=True)
class WeightsExport:
    filename: str
    archive: TarStream


async def export(runtime: Runtime, caller: Caller, name: str, weights_format: WeightsFormat) -> WeightsExport:
    # A short read of its own: no connection is held while weights are merged or sent.
    async with runtime.sessions() as session:
        weights = await locate(runtime, session, caller, name)
    assert weights.base.path is not None
    source = weights.adapter
    if weights_format == "merged":
        source = await runtime.merged_weights.folder(weights.base.path, weights.adapter)
    folder = f"{file_safe(name)}-{weights_format}"
    archive = TarStream(folder, mtime=weights.job.finished_at or weights.job.created_at)
    metadata = _metadata(weights, weights_format)
    await anyio.to_thread.run_sync(_fill, archive, source, weights.base.path, metadata)
    return WeightsExport(filename=f"{folder}.tar", archive=archive)


async def locate(runtime: Runtime, session: AsyncSession, caller: Caller, name: str) -> Weights:
    """The weights of the caller's fine-tuned model (or checkpoint) `name`; another project's
    model, a deleted one and an unknown one are all the same 404 as GET /v1/models/{model}."""
    replacement = await aliases_repository.active_replacement(
        session, caller.project_id, name, int(time.time())
    )
    if replacement is not None:
        raise InvalidRequest(
            f"`{name}` is an alias of your project that stands for `{replacement}`: "
            f"export the weights of `{replacement}` instead.",
            param="model",
            code="model_is_alias",
        )
    if resolve_base_model(runtime.offered_models, name) is not None:
        raise InvalidRequest(
            f"`{name}` is a base model: only the weights of fine-tuned models are exported.",
            param="model",
            code="not_fine_tuned",
        )
    job = await jobs_repository.by_fine_tuned_model(session, caller.project_id, name)
    if job is not None:
        home = await home_of(runtime, session, job, name)
        if home is None and not chats_here(runtime, job.provider):
            raise _held_upstream(runtime, job, name)
        base = home.base_model if home is not None else job.base_model
        return await _weights(runtime, name, job, base, artifacts.model_name(job.id))
    found = await jobs_repository.checkpoint_by_model(session, caller.project_id, name)
    if found is None:
        raise model_not_found(name)
    job, checkpoint = found
    if not chats_here(runtime, job.provider):
        raise _held_upstream(runtime, job, name)
    adapter = artifacts.checkpoint_name(job.id, checkpoint.step_number)
    return await _weights(runtime, name, job, job.base_model, adapter)


async def _weights(runtime: Runtime, name: str, job: Job, base: str, adapter: str) -> Weights:
    """`adapter`: the name its folder is published under (a local copy is fetched if need be)."""
    spec = resolve_base_model(runtime.offered_models, base)
    if spec is None or not spec.runs_here:
        raise model_not_found(name)
    folder = await anyio.to_thread.run_sync(runtime.folders.fetch, adapter)
    if folder is None or not (folder / ADAPTER_CONFIG).is_file():
        log.error("model %s has no adapter %s", name, adapter)
        raise ServerError(f"The weights of model `{name}` are missing on this server.")
    return Weights(model=name, job=job, base=spec, adapter=folder)


def _held_upstream(runtime: Runtime, job: Job, name: str) -> InvalidRequest:
    message = (
        f"The weights of `{name}` are held by the upstream `{job.provider}` that trained it; "
        "this server has no copy of them."
    )
    if name == job.fine_tuned_model and isinstance(runtime.providers.get(job.provider), AdapterSource):
        message += " Bring the model home first (`ftgate models bring-home`), then export it."
    return InvalidRequest(message, param="model", code="weights_held_upstream")


def file_safe(name: str) -> str:
    """A model name as a file name on any system: `ft:base:org:x:id` is `ft-base-org-x-id`."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "model"


def _metadata(weights: Weights, weights_format: WeightsFormat) -> bytes:
    document = {
        "model": weights.model,
        "format": weights_format,
        "base_model": weights.base.id,
        "fine_tuning_job_id": weights.job.id,
        "created_at": weights.job.finished_at or weights.job.created_at,
        "load_with": (
            "peft: PeftModel.from_pretrained("
            "AutoModelForCausalLM.from_pretrained(<base_model>), <this folder>)"
            if weights_format == "adapter"
            else "transformers: AutoModelForCausalLM.from_pretrained(<this folder>)"
        ),
    }
    return (json.dumps(document, indent=2) + "\n").encode()


def _fill(archive: TarStream, source: Path, base: Path, metadata: bytes) -> None:
    """Opens every file of the export (in a worker thread)."""
    try:
        archive.add_tree(source)
        for path in tokenizer_files(base):
            if path.name not in archive.names:
                archive.add_file(path, path.name)
        archive.add_bytes(METADATA, metadata)
    except BaseException:
        archive.close()
        raise
