"""ORM models. Names never collide with wire names (StoredFile, not FileObject).

Every table has an internal, monotonically increasing `seq` used for ordering and keyset
pagination; public ids are random strings and carry no order.
"""

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.db import Base, JSONValue, Sequence


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    slug: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int]
    limits: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    # Bumped by every reservation: the row lock makes one project's reservations take turns.
    ledger_version: Mapped[int] = mapped_column(default=0, server_default="0")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[int]
    revoked_at: Mapped[int | None]
    limits: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)


class StoredFile(Base):
    __tablename__ = "files"
    __table_args__ = (
        Index("ix_files_project_seq", "project_id", "seq"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    key_id: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(512))
    purpose: Mapped[str] = mapped_column(String(32))
    bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int]
    expires_at: Mapped[int | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16))
    status_details: Mapped[str | None]
    blob_key: Mapped[str] = mapped_column(String(256))
    sha256: Mapped[str] = mapped_column(String(64))
    validation: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    # Where a file imported with its job history came from (the upstream's base URL); null for
    # files made here. An imported file whose content was not supplied yet has `sha256` "".
    imported_from: Mapped[str | None] = mapped_column(String(512))


class StoredUpload(Base):
    """An Upload (the Uploads API): a file sent in parts, then completed into a StoredFile.
    `status` is pending, completed, cancelled or expired; a pending one past `expires_at` reads
    as expired. `expires_after_seconds` is the file's own expiry, asked for at create."""

    __tablename__ = "uploads"
    __table_args__ = (
        Index("ix_uploads_status_expires_at", "status", "expires_at"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    key_id: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(512))
    purpose: Mapped[str] = mapped_column(String(32))
    bytes: Mapped[int] = mapped_column(BigInteger)
    mime_type: Mapped[str] = mapped_column(String(256))
    expires_after_seconds: Mapped[int | None]
    created_at: Mapped[int]
    expires_at: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    file_id: Mapped[str | None] = mapped_column(String(64))


class StoredUploadPart(Base):
    """One part of an Upload, its bytes in the blob `id`. Parts are deleted, blob and row, once
    their Upload is completed, cancelled or expired."""

    __tablename__ = "upload_parts"
    __table_args__ = ({"sqlite_autoincrement": True},)

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    upload_id: Mapped[str] = mapped_column(ForeignKey("uploads.id"), index=True)
    bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int]


class Job(Base):
    __tablename__ = "fine_tuning_jobs"
    __table_args__ = (
        Index("ix_fine_tuning_jobs_project_seq", "project_id", "seq"),
        Index("ix_fine_tuning_jobs_status", "status"),
        # One job per upstream job: a webhook finds its job by this, and a create is never kept twice.
        Index("ux_fine_tuning_jobs_provider_upstream_id", "provider", "upstream_id", unique=True),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    key_id: Mapped[str | None] = mapped_column(String(64))
    organization_id: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(256))
    base_model: Mapped[str] = mapped_column(String(256))
    training_file: Mapped[str] = mapped_column(String(64))
    validation_file: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[int]
    updated_at: Mapped[int]
    finished_at: Mapped[int | None]
    estimated_finish: Mapped[int | None]
    fine_tuned_model: Mapped[str | None] = mapped_column(String(512), unique=True)
    fine_tuned_model_deleted_at: Mapped[int | None]
    trained_tokens: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    method: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    seed: Mapped[int]
    suffix: Mapped[str | None] = mapped_column(String(64))
    integrations: Mapped[list[Any] | None] = mapped_column(JSONValue)
    user_metadata: Mapped[dict[str, str] | None] = mapped_column("metadata", JSONValue)
    result_files: Mapped[list[str]] = mapped_column(JSONValue)
    provider: Mapped[str] = mapped_column(String(64))
    upstream_id: Mapped[str | None] = mapped_column(String(128))
    locked_until: Mapped[int | None]
    # Local jobs: when a training task was last sent. Celery's message may wait in the training
    # queue for hours, so the reconciler sends another only once a task has held the job since
    # (and its lease ran out: the worker died) or `training_resend_seconds` have passed.
    training_sent_at: Mapped[int | None]
    # Local jobs: the tokens of the steps recorded so far, added with each step's metrics event
    # (so a step replayed after a crash is counted once). A job that stops part-way reports and is
    # billed on them; `trained_tokens` stays null until the job finishes, as at OpenAI.
    steps_trained_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Jobs imported as history from an upstream (its base URL): read-only, never run by a worker.
    # They keep the upstream's own `hyperparameters` field (null for jobs made here: derived from
    # `method`).
    imported_from: Mapped[str | None] = mapped_column(String(512))
    hyperparameters: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    # What ftgate knows of the job's upstream, for a job an upstream runs (None for the local
    # trainer's jobs and for imported history). Loaded with the job, one query for a whole page.
    mirror: Mapped["JobMirror | None"] = relationship(lazy="selectin")


class JobMirror(Base):
    """An upstream job as ftgate last saw it: the last status seen there, when ftgate started
    sending the job (so a retry looks it up before sending again), the newest upstream event
    already seen, failed tries in a row, and when to look again (milliseconds; null when there is
    nothing to do, as for every finished job, so the due looks are read from the index alone)."""

    __tablename__ = "fine_tuning_job_mirrors"

    job_id: Mapped[str] = mapped_column(ForeignKey("fine_tuning_jobs.id"), primary_key=True)
    upstream_status: Mapped[str | None] = mapped_column(String(32))
    upstream_submitted_at: Mapped[int | None]
    upstream_event_cursor: Mapped[str | None] = mapped_column(String(128))
    upstream_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    upstream_looked_at_ms: Mapped[int | None] = mapped_column(BigInteger)
    next_look_at_ms: Mapped[int | None] = mapped_column(BigInteger, index=True)


class UpstreamFile(Base):
    """A file already uploaded to an upstream, so that every job there reuses it."""

    __tablename__ = "upstream_files"
    __table_args__ = (UniqueConstraint("file_id", "upstream"), {"sqlite_autoincrement": True})

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    file_id: Mapped[str] = mapped_column(String(64))
    upstream: Mapped[str] = mapped_column(String(64))
    # Null while an upload is under way (since created_at).
    upstream_file_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[int]


class JobEvent(Base):
    __tablename__ = "fine_tuning_job_events"
    __table_args__ = (
        UniqueConstraint("job_id", "upstream_event_id"),
        Index("ix_fine_tuning_job_events_job_seq", "job_id", "seq"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("fine_tuning_jobs.id"))
    upstream_event_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[int]
    level: Mapped[str] = mapped_column(String(8))
    message: Mapped[str]
    data: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    type: Mapped[str] = mapped_column(String(16))


class JobCheckpoint(Base):
    __tablename__ = "fine_tuning_job_checkpoints"
    __table_args__ = (
        UniqueConstraint("job_id", "step_number"),
        Index("ix_fine_tuning_job_checkpoints_job_seq", "job_id", "seq"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("fine_tuning_jobs.id"))
    created_at: Mapped[int]
    fine_tuned_model_checkpoint: Mapped[str] = mapped_column(String(512), unique=True)
    step_number: Mapped[int]
    metrics: Mapped[dict[str, float]] = mapped_column(JSONValue)


class JobCharge(Base):
    """What a job was expected to cost when it was created (reserved against the budgets), and
    what it did cost once it finished (settled on its real `trained_tokens`). Micro-USD."""

    __tablename__ = "job_charges"
    __table_args__ = (
        Index("ix_job_charges_project_created_at", "project_id", "created_at"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("fine_tuning_jobs.id"), unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    key_id: Mapped[str | None] = mapped_column(String(64))
    base_model: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[int]
    price_micros_per_1m: Mapped[int] = mapped_column(BigInteger)
    reserved_tokens: Mapped[int] = mapped_column(BigInteger)
    reserved_micros: Mapped[int] = mapped_column(BigInteger)
    settled_at: Mapped[int | None]
    settled_tokens: Mapped[int | None] = mapped_column(BigInteger)
    settled_micros: Mapped[int | None] = mapped_column(BigInteger)


class ChatUsage(Base):
    """Tokens and cost of one chat completion."""

    __tablename__ = "chat_usage"
    __table_args__ = (
        Index("ix_chat_usage_project_created_at", "project_id", "created_at"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    key_id: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[int]
    prompt_tokens: Mapped[int] = mapped_column(BigInteger)
    completion_tokens: Mapped[int] = mapped_column(BigInteger)
    cost_micros: Mapped[int] = mapped_column(BigInteger)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = ({"sqlite_autoincrement": True},)

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(String(128))
    event_types: Mapped[list[str]] = mapped_column(JSONValue)
    created_at: Mapped[int]
    disabled_at: Mapped[int | None]


class WebhookDelivery(Base):
    """One event for one endpoint; its id is the `webhook-id` every attempt sends."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_next_attempt", "status", "next_attempt_at_ms"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    created_at: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at_ms: Mapped[int | None] = mapped_column(BigInteger)
    locked_until: Mapped[int | None]
    delivered_at: Mapped[int | None]


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = ({"sqlite_autoincrement": True},)

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempted_at: Mapped[int]
    succeeded: Mapped[bool]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(1024))
    duration_ms: Mapped[int]


class AuditEntry(Base):
    """An operator's action, or a job's change of status."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_project_seq", "project_id", "seq"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[int]
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(512))
    details: Mapped[dict[str, Any]] = mapped_column(JSONValue)


class StoredEval(Base):
    """An eval: what its items look like and the criteria each run grades them by (both kept
    in their wire form, the criteria with the ids they were given at creation)."""

    __tablename__ = "evals"
    __table_args__ = (
        Index("ix_evals_project_seq", "project_id", "seq"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(512))
    data_source_config: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    testing_criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSONValue)
    user_metadata: Mapped[dict[str, str]] = mapped_column("metadata", JSONValue)
    created_at: Mapped[int]
    updated_at: Mapped[int]


class StoredEvalRun(Base):
    """One run of an eval. Its totals grow with each output item, in the same transaction."""

    __tablename__ = "eval_runs"
    __table_args__ = (
        Index("ix_eval_runs_eval_seq", "eval_id", "seq"),
        Index("ix_eval_runs_status", "status"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    eval_id: Mapped[str] = mapped_column(ForeignKey("evals.id"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    key_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(512))
    model: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16))
    data_source: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    user_metadata: Mapped[dict[str, str]] = mapped_column("metadata", JSONValue)
    report_url: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[int]
    updated_at: Mapped[int]
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    result_counts: Mapped[dict[str, int]] = mapped_column(JSONValue)
    per_model_usage: Mapped[dict[str, dict[str, int]]] = mapped_column(JSONValue)
    per_criterion: Mapped[dict[str, dict[str, int]]] = mapped_column(JSONValue)
    locked_until: Mapped[int | None]
    # When a task was last sent for the run (see Job.training_sent_at).
    sent_at: Mapped[int | None]


class StoredOutputItem(Base):
    """One item of a run, sampled and graded; written once (unique per run and item)."""

    __tablename__ = "eval_output_items"
    __table_args__ = (
        UniqueConstraint("run_id", "datasource_item_id"),
        Index("ix_eval_output_items_run_seq", "run_id", "seq"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("eval_runs.id"))
    eval_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int]
    status: Mapped[str] = mapped_column(String(8))
    datasource_item_id: Mapped[int]
    datasource_item: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSONValue)
    sample: Mapped[dict[str, Any]] = mapped_column(JSONValue)


class Capture(Base):
    """Recording of a project's chats with one upstream-served model as training examples: its
    settings, the two files it grows (training, held-out) and their running totals. Every
    recorded example bumps `version` first: the row lock under which one example at a time is
    appended, across gateway replicas."""

    __tablename__ = "captures"
    __table_args__ = (UniqueConstraint("project_id", "model"), {"sqlite_autoincrement": True})

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    model: Mapped[str] = mapped_column(String(512))
    enabled: Mapped[bool]
    sample_rate: Mapped[float]
    held_out_fraction: Mapped[float]
    max_examples: Mapped[int] = mapped_column(BigInteger)
    max_bytes: Mapped[int] = mapped_column(BigInteger)
    drop_fields: Mapped[list[str]] = mapped_column(JSONValue)
    created_at: Mapped[int]
    updated_at: Mapped[int]
    training_file_id: Mapped[str | None] = mapped_column(String(64))
    held_out_file_id: Mapped[str | None] = mapped_column(String(64))
    training_examples: Mapped[int] = mapped_column(BigInteger)
    held_out_examples: Mapped[int] = mapped_column(BigInteger)
    training_bytes: Mapped[int] = mapped_column(BigInteger)
    held_out_bytes: Mapped[int] = mapped_column(BigInteger)
    # The training file's validation counts, one example at a time (gateway.capture.tally).
    tally: Mapped[dict[str, int]] = mapped_column(JSONValue)
    # When an example was refused for a cap: capture has stopped (until the caps change).
    capped_at: Mapped[int | None]
    version: Mapped[int] = mapped_column(BigInteger)


class ModelAlias(Base):
    """A project's old model id answered by another model it can chat with (a replacement), from
    `active_from` on (Unix seconds; null: at once). One alias per name and project."""

    __tablename__ = "model_aliases"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        Index("ix_model_aliases_project_seq", "project_id", "seq"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(Sequence, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(512))
    replacement: Mapped[str] = mapped_column(String(512))
    active_from: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[int]
    updated_at: Mapped[int]

    def in_force(self, now: int) -> bool:
        return self.active_from is None or self.active_from <= now


class HomeAdapter(Base):
    """An upstream job's adapter, brought home: its weights downloaded into the job's model
    folder, so that ftgate's own engine serves the job's fine-tuned model on `base_model`, a
    local model with the upstream base model's weights."""

    __tablename__ = "home_adapters"

    job_id: Mapped[str] = mapped_column(String(64), ForeignKey("fine_tuning_jobs.id"), primary_key=True)
    base_model: Mapped[str] = mapped_column(String(256))
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int]
