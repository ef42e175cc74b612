"""Runtime configuration: one pydantic-settings class, read from FTGATE_* variables."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.catalog import DEFAULT_BASE_MODELS, BaseModelSpec
from gateway.providers.config import UpstreamSpec


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FTGATE_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str = ""
    blob_dir: Path | None = None
    storage: Literal["local", "s3"] = Field(
        default="local", description="where files and trained adapters live: blob_dir, or an S3 bucket"
    )
    s3_bucket: str = ""
    s3_prefix: str = Field(default="", description="put before every object key ftgate writes")
    s3_endpoint_url: str | None = Field(default=None, description="MinIO, R2, GCS…; unset: AWS S3")
    s3_region: str | None = None
    s3_access_key_id: str | None = Field(default=None, description="unset: the standard AWS chain")
    s3_secret_access_key: SecretStr | None = None
    s3_part_bytes: int = Field(
        default=8 * 1024 * 1024, ge=5 * 1024 * 1024, description="multipart uploads: one part's bytes"
    )
    artifact_cache_dir: Path | None = Field(
        default=None, description="S3 storage: local copies of adapters, by content (default data_dir/cache)"
    )
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    max_upload_part_bytes: int = Field(
        default=64 * 1024 * 1024, gt=0, description="the Uploads API: one part's bytes"
    )
    max_chunked_upload_bytes: int = Field(
        default=8 * 1024 * 1024 * 1024,
        gt=0,
        description="the Uploads API: an upload's bytes, all its parts together",
    )
    max_json_body_bytes: int = Field(default=1024 * 1024, gt=0, description="JSON request bodies")
    max_chat_body_bytes: int = Field(default=2 * 1024 * 1024, gt=0, description="chat request bodies")
    max_eval_run_body_bytes: int = Field(
        default=4 * 1024 * 1024, gt=0, description="eval run requests (their items may be inline)"
    )
    eval_run_concurrency: int = Field(
        default=4, ge=1, description="items of one eval run sampled and graded at once"
    )
    request_body_idle_seconds: float = Field(
        default=30.0, gt=0, description="a request whose body stops arriving this long is refused (408)"
    )
    max_concurrent_uploads_per_project: int = Field(default=4, ge=1)
    validation_processes: int = Field(default=2, ge=1)
    queue: Literal["inprocess", "celery"] = "inprocess"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = Field(
        default="",
        description="put before every Redis key of ftgate and its Celery queues (one Redis, many installs)",
    )
    celery_queue: str = "ftgate"
    celery_training_queue: str = "ftgate-training"
    reconcile_interval_seconds: float = Field(default=30.0, gt=0)
    job_lease_seconds: int = Field(default=60, gt=0)
    base_models: list[BaseModelSpec] = Field(default_factory=lambda: list(DEFAULT_BASE_MODELS))
    models_dir: Path | None = None
    artifacts_dir: Path | None = None
    training_device: str = "auto"
    training_liger: bool = Field(
        default=False, description="Liger's fused kernels in local training (CUDA only)"
    )
    training_slots: int = Field(default=1, ge=1)
    training_resend_seconds: float = Field(
        default=600.0,
        gt=0,
        description="Celery: how long a queued local job's training message may wait before another is sent",
    )
    max_loaded_adapters: int = Field(default=8, ge=1)
    merged_weights_kept: int = Field(
        default=2, ge=1, description="weights export: merged models kept on disk for the next download"
    )
    chat_max_seconds: float = Field(
        default=30.0, gt=0, description="local chat: a generation's choices end ('length') after this long"
    )
    chat_max_batch: int = Field(
        default=16,
        ge=1,
        description="local chat: sequences decoded together per base model (one per choice)",
    )
    python_grader_seconds: float = Field(
        default=120.0, gt=0, description="python graders: wall-clock limit of one grade() call"
    )
    python_grader_memory_bytes: int = Field(
        default=2 * 1024**3, ge=64 * 1024**2, description="python graders: address-space limit (RLIMIT_AS)"
    )
    python_grader_concurrency: int = Field(default=2, ge=1, description="python graders run at once")
    python_grader_require_network_isolation: bool = Field(
        default=True, description="refuse to run python graders where no network namespace can be made"
    )
    upstreams: list[UpstreamSpec] = Field(default_factory=list)
    openai_api_key: SecretStr | None = Field(
        default=None, description="shorthand for an upstream named `openai` at api.openai.com"
    )
    upstream_poll_tick_seconds: float = Field(default=0.2, gt=0)
    upstream_poll_running_seconds: float = Field(default=1.0, gt=0)
    upstream_poll_waiting_seconds: float = Field(default=5.0, gt=0)
    upstream_poll_paused_seconds: float = Field(default=30.0, gt=0)
    upstream_poll_recent_seconds: float = Field(
        default=60.0, ge=0, description="look at a job as often as a running one this long after it changed"
    )
    upstream_job_refresh_seconds: float = Field(
        default=5.0, gt=0, description="re-read a running upstream job this often even without new events"
    )
    upstream_max_backoff_seconds: float = Field(default=300.0, gt=0)
    upstream_concurrent_looks: int = Field(
        default=32, ge=1, description="upstream jobs a process reads at once while mirroring them"
    )
    admin_key: SecretStr | None = Field(
        default=None, description="the admin API's bearer key; unset: no admin API"
    )
    key_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        description="how long a verified API key is trusted without a database lookup, while no key or "
        "project has changed anywhere (0: look every key up)",
    )
    hot_reads: bool = Field(
        default=True,
        description="answer a job, a page of jobs and a page of a job's events straight from the database "
        "driver, without FastAPI's routing or a session (off: through their routes like every request)",
    )
    rate_limiter: Literal["memory", "redis"] = Field(
        default="memory",
        description="where per-key rate limits are counted: this process, or Redis (replicas)",
    )
    local_training_price_per_1m: float = Field(
        default=0.0, ge=0, description="local models: USD per 1M trained tokens"
    )
    local_chat_input_price_per_1m: float = Field(default=0.0, ge=0)
    local_chat_output_price_per_1m: float = Field(default=0.0, ge=0)
    webhook_retry_seconds: list[float] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0],
        description="project webhooks: the wait before each retry of a failed delivery",
    )
    webhook_timeout_seconds: float = Field(default=15.0, gt=0)
    webhook_tick_seconds: float = Field(
        default=1.0, gt=0, description="project webhooks: how often due retries are sent to the workers"
    )

    metrics_enabled: bool = Field(
        default=True, description="serve /metrics and count requests (off: neither, for the last microsecond)"
    )
    metrics_token: SecretStr | None = Field(
        default=None, description="when set, /metrics answers only `Authorization: Bearer <token>`"
    )
    metrics_refresh_seconds: float = Field(
        default=15.0,
        ge=0,
        description="/metrics reads jobs and queues from the database and Redis this often",
    )
    worker_metrics_port: int | None = Field(
        default=None, description="Celery workers: serve their processes' metrics on this port"
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object per log line, with the request or task id"
    )

    def local_model_prices(self) -> dict[str, float]:
        return {
            "training_price_per_1m": self.local_training_price_per_1m,
            "chat_input_price_per_1m": self.local_chat_input_price_per_1m,
            "chat_output_price_per_1m": self.local_chat_output_price_per_1m,
        }

    @model_validator(mode="after")
    def _derive_paths(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'ftgate.db'}"
        elif self.database_url.startswith(("postgresql://", "postgres://")):
            self.database_url = "postgresql+asyncpg://" + self.database_url.split("://", 1)[1]
        if self.blob_dir is None:
            self.blob_dir = self.data_dir / "blobs"
        if self.storage == "s3" and not self.s3_bucket:
            raise ValueError("FTGATE_STORAGE=s3 needs FTGATE_S3_BUCKET")
        if self.artifact_cache_dir is None:
            self.artifact_cache_dir = self.data_dir / "cache"
        if self.models_dir is None:
            self.models_dir = self.data_dir / "models"
        if self.artifacts_dir is None:
            self.artifacts_dir = self.data_dir / "artifacts"
        if self.openai_api_key is not None and all(spec.name != "openai" for spec in self.upstreams):
            self.upstreams = [*self.upstreams, UpstreamSpec(name="openai", api_key=self.openai_api_key)]
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
