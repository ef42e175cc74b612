"""What a process needs to serve requests or run tasks, built once from the settings."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway import db
from gateway.catalog import BaseModelSpec, build_catalog, offered
from gateway.files.upload_slots import UploadSlots
from gateway.files.validator_pool import ValidatorPool
from gateway.fine_tuning.local_counts import LocalTokenCounter
from gateway.inference.engine import ChatEngine
from gateway.providers.base import JobProvider, Provider
from gateway.providers.registry import build_providers
from gateway.ratelimit.limiter import RateLimiter, build_rate_limiter
from gateway.settings import Settings
from gateway.storage.base import BlobStore
from gateway.storage.local import LocalBlobStore
from gateway.verified_keys import VerifiedKeys, build_verified_keys
from graders import PythonSandbox, SandboxLimits


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    blobs: BlobStore
    validators: ValidatorPool
    upload_slots: UploadSlots
    dispatch: db.Dispatch
    catalog: list[BaseModelSpec]
    rate_limiter: RateLimiter
    verified_keys: VerifiedKeys
    training_slots: asyncio.Semaphore = field(default_factory=asyncio.Semaphore)
    upstream_look_slots: asyncio.Semaphore = field(default_factory=asyncio.Semaphore)
    chat_engine: ChatEngine = field(default_factory=ChatEngine)
    local_tokens: LocalTokenCounter = field(default_factory=LocalTokenCounter)
    # The local trainer and each configured upstream, by the name jobs and base models carry.
    providers: dict[str, JobProvider] = field(default_factory=dict)
    grader_sandbox: PythonSandbox = field(default_factory=PythonSandbox)

    @property
    def offered_models(self) -> list[BaseModelSpec]:
        """The catalog's models that can run here (see `catalog.offered`)."""
        return offered(self.catalog, self.providers.keys())

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
        await self.chat_engine.close()
        for provider in self.providers.values():
            await provider.close()
        await self.rate_limiter.close()
        await self.verified_keys.close()
        await self.engine.dispose()


def build_runtime(settings: Settings, dispatch: db.Dispatch) -> Runtime:
    assert settings.blob_dir is not None and settings.models_dir is not None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.create_engine(settings.database_url)
    catalog = build_catalog(list(settings.base_models), settings.models_dir, settings.local_model_prices())
    sessions = db.create_sessionmaker(engine)
    verified_keys = build_verified_keys(settings)
    verified_keys.watch(sessions)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        blobs=LocalBlobStore(settings.blob_dir),
        validators=ValidatorPool(settings.validation_processes),
        upload_slots=UploadSlots(settings.max_concurrent_uploads_per_project),
        dispatch=dispatch,
        catalog=catalog,
        rate_limiter=build_rate_limiter(settings),
        verified_keys=verified_keys,
        training_slots=asyncio.Semaphore(settings.training_slots),
        upstream_look_slots=asyncio.Semaphore(settings.upstream_concurrent_looks),
        chat_engine=ChatEngine(settings.training_device, settings.max_loaded_adapters),
        providers=build_providers(settings.upstreams, catalog),
        grader_sandbox=PythonSandbox(
            SandboxLimits(
                wall_seconds=settings.python_grader_seconds,
                memory_bytes=settings.python_grader_memory_bytes,
                require_network_isolation=settings.python_grader_require_network_isolation,
                concurrency=settings.python_grader_concurrency,
            )
        ),
    )
