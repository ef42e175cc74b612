"""What a process needs to serve requests or run tasks, built once from the settings."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway import db, local_extra
from gateway.catalog import BaseModelSpec, build_catalog, offered
from gateway.engines.base import ServedEngine
from gateway.engines.registry import Engines, build_served_engines
from gateway.engines.transformers import TransformersEngine
from gateway.files.upload_slots import UploadSlots
from gateway.files.validator_pool import ValidatorPool
from gateway.fine_tuning.local_counts import LocalTokenCounter
from gateway.hot_reads.reader import Reader, build_reader
from gateway.inference.engine import ChatEngine
from gateway.providers.base import JobProvider, Provider
from gateway.providers.registry import build_providers
from gateway.ratelimit.limiter import RateLimiter, build_rate_limiter
from gateway.settings import Settings
from gateway.storage.base import BlobStore
from gateway.storage.choice import adapters_dir, blob_store, folder_store
from gateway.storage.folders import FolderStore
from gateway.verified_keys import VerifiedKeys, build_verified_keys
from gateway.weights.merged import MergedWeights
from graders import PythonSandbox, SandboxLimits


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    blobs: BlobStore
    # Adapters, checkpoints and training states, by their path under the artifacts folder.
    folders: FolderStore
    validators: ValidatorPool
    upload_slots: UploadSlots
    dispatch: db.Dispatch
    catalog: list[BaseModelSpec]
    rate_limiter: RateLimiter
    merged_weights: MergedWeights
    verified_keys: VerifiedKeys
    # The hot reads' own connection to the database; None where they go through their routes.
    hot_reader: Reader | None = None
    training_slots: asyncio.Semaphore = field(default_factory=asyncio.Semaphore)
    upstream_look_slots: asyncio.Semaphore = field(default_factory=asyncio.Semaphore)
    chat_engine: ChatEngine = field(default_factory=ChatEngine)
    local_tokens: LocalTokenCounter = field(default_factory=LocalTokenCounter)
    # The local trainer and each configured upstream, by the name jobs and base models carry.
    providers: dict[str, JobProvider] = field(default_factory=dict)
    grader_sandbox: PythonSandbox = field(default_factory=PythonSandbox)
    # The local base models that a vLLM or SGLang server serves, by id; `chat_engine` serves the rest.
    served_engines: dict[str, ServedEngine] = field(default_factory=dict)
    engines: Engines = field(init=False)

    def __post_init__(self) -> None:
        self.engines = Engines(TransformersEngine(self.chat_engine), self.served_engines)

    @property
    def offered_models(self) -> list[BaseModelSpec]:
        """The catalog's models that can run here (see `catalog.offered`)."""
        return offered(self.catalog, self.providers.keys(), local_extra.installed())

    def upstream(self, name: str) -> Provider | None:
        """The configured upstream called `name`; None for the local trainer and for an upstream
        that is not configured here."""
        provider = self.providers.get(name)
        return provider if isinstance(provider, Provider) else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with db.transaction(self.sessions, self.dispatch) as session:
            yield session

    async def close(self) -> None:
        self.validators.close()
        await self.engines.close()
        for provider in self.providers.values():
            await provider.close()
        await self.rate_limiter.close()
        await self.verified_keys.close()
        if self.hot_reader is not None:
            await self.hot_reader.close()
        await self.engine.dispose()


def build_runtime(settings: Settings, dispatch: db.Dispatch) -> Runtime:
    assert settings.models_dir is not None and settings.artifacts_dir is not None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.create_engine(settings.database_url)
    blobs = blob_store(settings)
    catalog = build_catalog(list(settings.base_models), settings.models_dir, settings.local_model_prices())
    local_extra.log_unoffered(catalog)
    sessions = db.create_sessionmaker(engine)
    verified_keys = build_verified_keys(settings)
    verified_keys.watch(sessions)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        blobs=blobs,
        folders=folder_store(settings, blobs),
        validators=ValidatorPool(settings.validation_processes),
        upload_slots=UploadSlots(settings.max_concurrent_uploads_per_project),
        dispatch=dispatch,
        catalog=catalog,
        rate_limiter=build_rate_limiter(settings),
        verified_keys=verified_keys,
        hot_reader=build_reader(settings.database_url) if settings.hot_reads else None,
        training_slots=asyncio.Semaphore(settings.training_slots),
        upstream_look_slots=asyncio.Semaphore(settings.upstream_concurrent_looks),
        chat_engine=ChatEngine(
            settings.training_device, settings.max_loaded_adapters, settings.chat_max_batch
        ),
        providers=build_providers(settings.upstreams, catalog),
        merged_weights=MergedWeights(settings.artifacts_dir / "merged", settings.merged_weights_kept),
        served_engines=build_served_engines(catalog, adapters_dir(settings)),
        grader_sandbox=PythonSandbox(
            SandboxLimits(
                wall_seconds=settings.python_grader_seconds,
                memory_bytes=settings.python_grader_memory_bytes,
                require_network_isolation=settings.python_grader_require_network_isolation,
                concurrency=settings.python_grader_concurrency,
            )
        ),
    )
