"""Bring an upstream job's adapter home: download it from the upstream that trained it, unpack
it into the job's model folder, and record it, so that chat with the fine-tuned model is
answered by ftgate's own engine on the base model's local twin (`home_model`) from then on.

The download and the unpacking hold no database session; two at once for one model both
download, and the first to finish is kept."""

import logging
import secrets
import time
from pathlib import Path

import anyio

from gateway import artifacts, audit
from gateway.catalog import BaseModelSpec, resolve_base_model
from gateway.chat.service import chats_here, model_not_found
from gateway.errors import BadGateway, InvalidRequest
from gateway.fine_tuning import repository as jobs_repository
from gateway.home.schemas import HomeAdapterObject
from gateway.home.unpack import ADAPTER_CONFIG, NotAnAdapter, unpack_adapter
from gateway.models import HomeAdapter, Job
from gateway.providers.base import AdapterSource, UpstreamError
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

# A LoRA adapter of a 70B model at rank 64 is about 1.6 GB; merged weights are not asked for.
MAX_ADAPTER_BYTES = 8 * 1024**3
BROUGHT_HOME = "model.brought_home"


async def bring_home(runtime: Runtime, actor: str, project_id: str, model: str) -> HomeAdapterObject:
    async with runtime.sessions() as session:
        job = await jobs_repository.by_fine_tuned_model(session, project_id, model)
        home = await session.get(HomeAdapter, job.id) if job is not None else None
    if job is None:
        raise model_not_found(model)
    if home is not None:
        return HomeAdapterObject.of(home, model)
    local = _home_model(runtime, job, model)
    source = runtime.providers.get(job.provider)
    if not isinstance(source, AdapterSource):
        raise InvalidRequest(
            f"The upstream `{job.provider}` that trained `{model}` offers no download of its adapters.",
            param="model",
            code="unsupported_upstream",
        )
    size, digest = await _fetch(runtime, source, job, model)
    async with runtime.transaction() as session:
        home = await session.get(HomeAdapter, job.id)
        if home is None:
            home = HomeAdapter(
                job_id=job.id, base_model=local.id, bytes=size, sha256=digest, created_at=int(time.time())
            )
            session.add(home)
            details = {"fine_tuning_job_id": job.id, "base_model": local.id, "sha256": digest}
            audit.record(
                session, actor, BROUGHT_HOME, project_id=project_id, object_id=model, details=details
            )
    return HomeAdapterObject.of(home, model)


def _home_model(runtime: Runtime, job: Job, model: str) -> BaseModelSpec:
    if chats_here(runtime, job.provider):
        raise InvalidRequest(
            f"The model `{model}` was trained here: it is home already.", param="model", code="already_home"
        )
    base = resolve_base_model(runtime.catalog, job.base_model)
    local = resolve_base_model(runtime.catalog, base.home_model) if base and base.home_model else None
    if local is None or not local.runs_here:
        raise InvalidRequest(
            f"The base model `{job.base_model}` of `{model}` names no local model that serves its "
            "adapters (its `home_model`).",
            param="model",
            code="no_home_model",
        )
    return local


async def _fetch(runtime: Runtime, source: AdapterSource, job: Job, model: str) -> tuple[int, str]:
    """The adapter downloaded and unpacked into the job's model folder: the archive's size and digest."""
    assert runtime.settings.artifacts_dir is not None and job.upstream_id is not None
    target = artifacts.model_dir(runtime.settings.artifacts_dir, job.id)
    work = artifacts.job_dir(runtime.settings.artifacts_dir, job.id) / f"home-{secrets.token_hex(8)}"
    archive = work.with_suffix(".archive")
    await anyio.Path(work.parent).mkdir(parents=True, exist_ok=True)
    try:
        digest = await source.download_adapter(job.upstream_id, archive, MAX_ADAPTER_BYTES)
        size = (await anyio.Path(archive).stat()).st_size
        await _unpack(archive, target, work)
        await anyio.to_thread.run_sync(runtime.folders.publish, artifacts.model_name(job.id), target)
    except UpstreamError as error:
        log.error("bringing %s home from %s failed: %s (status %s)", model, job.provider, error, error.status)
        raise BadGateway(
            f"The upstream `{job.provider}` did not send the adapter of `{model}`: {error.message}"
        ) from error
    except NotAnAdapter as error:
        raise BadGateway(
            f"The adapter the upstream `{job.provider}` sent for `{model}` cannot be served: {error}"
        ) from error
    finally:
        await anyio.Path(archive).unlink(missing_ok=True)
    return size, digest


async def _unpack(archive: Path, target: Path, work: Path) -> None:
    try:
        await anyio.to_thread.run_sync(unpack_adapter, archive, target, work, MAX_ADAPTER_BYTES)
    except OSError:
        if not await anyio.Path(target / ADAPTER_CONFIG).is_file():
            raise
        # Brought home already: by another request, or by one that stopped before recording it.
