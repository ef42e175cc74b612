"""Fireworks' state: datasets (created, uploaded, validated, then READY; chat or preference
examples), and supervised fine-tuning and DPO jobs (a DPO job's settings in its `trainingConfig`,
its loss in `lossConfig`) that walk Fireworks' states in real time (JOB_STATE_CREATING → VALIDATING →
RUNNING → WRITING_RESULTS → COMPLETED; CANCELLING → CANCELLED; FAILED; EARLY_STOPPED; PAUSED),
each training step adding a line to the job's metrics file and moving its `jobProgress`; each job
carries an `estimatedCost` (a quarter of its dataset's bytes as tokens, each epoch, at a price).
Fireworks keeps no events. Times are RFC 3339 with nanoseconds; int64 values are strings."""

import json
import math
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from tests.support.fake_upstream.scripted import ScriptedUpstream

from .errors import RpcError

ACCOUNT = "acme"
ID = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
PACIFIC = timezone(timedelta(hours=-8))
DEFAULT_EPOCHS = 1
DEFAULT_BATCH_SIZE = 4
# USD per 1M tokens (a quarter of a dataset's bytes, each epoch) that a job's estimatedCost says.
PRICE_PER_1M = 6.0
# phase -> (the phase after it)
PHASES = {"CREATING": "VALIDATING", "VALIDATING": "RUNNING", "WRITING_RESULTS": "COMPLETED"}
SUPERVISED, DPO = "supervisedFineTuningJobs", "dpoJobs"
KINDS = {SUPERVISED: "SupervisedFineTuningJob", DPO: "DpoJob"}
CANCELLABLE = frozenset({"CREATING", "VALIDATING", "RUNNING", "WRITING_RESULTS", "PENDING", "PAUSED"})


def _chat_or_preference(example: Any) -> bool:
    """A chat example (`messages`) or a preference one (`input.messages` and both outputs)."""
    if not isinstance(example, dict):
        return False
    if isinstance(example.get("messages"), list):
        return True
    return isinstance((example.get("input") or {}).get("messages"), list) and all(
        isinstance(example.get(key), list) for key in ("preferred_output", "non_preferred_output")
    )


def money(usd: float) -> dict[str, Any]:
    """A google.type.Money in USD, as Fireworks sends it: units an int64 string, nanos a number."""
    nanos = round(usd * 1_000_000_000)
    return {"currencyCode": "USD", "units": str(nanos // 1_000_000_000), "nanos": nanos % 1_000_000_000}


def rfc3339(offset: timezone = UTC) -> str:
    """Now, with nanoseconds, in `offset` (`Z` for UTC)."""
    now = datetime.now(offset)
    text = now.strftime("%Y-%m-%dT%H:%M:%S") + f".{now.microsecond:06d}{secrets.randbelow(1000):03d}"
    return text + ("Z" if offset is UTC else now.strftime("%z")[:3] + ":" + now.strftime("%z")[3:])


@dataclass
class Script:
    """How the next job goes: `error` fails it at step 2 with these words; `early_stop` ends it
    EARLY_STOPPED after step 2; `pause` pauses it at step 2; `validating_seconds` holds it in
    VALIDATING that long."""

    step_seconds: float | None = None
    error: str | None = None
    early_stop: bool = False
    pause: bool = False
    validating_seconds: float | None = None


@dataclass
class Dataset:
    data: dict[str, Any]
    content: bytes = b""
    ready_at: float | None = None


@dataclass
class Job:
    data: dict[str, Any]
    request: dict[str, Any]
    collection: str
    script: Script
    step_seconds: float
    total_steps: int
    steps_per_epoch: int
    metrics: list[dict[str, Any]] = field(default_factory=list)
    phase: str = "CREATING"
    step: int = 0
    next_at: float = 0.0

    @property
    def id(self) -> str:
        return str(self.data["name"]).rsplit("/", 1)[-1]

    @property
    def settings(self) -> dict[str, Any]:
        """Its base and output model, epochs and the like: on a DPO job, its `trainingConfig`."""
        return self.data if self.collection == SUPERVISED else self.data["trainingConfig"]


class Fireworks(ScriptedUpstream):
    PRICE_PER_1M = PRICE_PER_1M
    RESTING = frozenset({"done", "PAUSED"})
    # `files`: the datasets, by id (FakeUpstream.forget_files clears them).
    files: dict[str, Dataset]
    jobs: dict[str, Job]
    scripts: list[Script]

    def reset(self) -> None:
        super().reset()
        self.datasets_created = 0
        self.validations = 0
        # Words the next validateUpload is refused with.
        self.dataset_refusals: list[str] = []

    def create_dataset(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        dataset_id = str(body.get("datasetId") or "")
        if not ID.match(dataset_id):
            raise RpcError(400, f"datasetId {dataset_id!r} must match [a-z][a-z0-9-]{{0,62}}")
        if dataset_id in self.files:
            raise RpcError(409, f"Dataset accounts/{account}/datasets/{dataset_id} already exists")
        given = body.get("dataset") or {}
        if given.get("format") not in ("CHAT", "COMPLETION", "RL") or "userUploaded" not in given:
            raise RpcError(400, "dataset.format and dataset.userUploaded are required")
        self.datasets_created += 1
        data = {
            "name": f"accounts/{account}/datasets/{dataset_id}",
            "displayName": given.get("displayName", ""),
            "createTime": rfc3339(),
            "state": "UPLOADING",
            "status": {"code": "OK", "message": ""},
            "exampleCount": str(given.get("exampleCount", "0")),
            "userUploaded": {},
            "format": given["format"],
        }
        self.files[dataset_id] = Dataset(data)
        return data

    def dataset(self, dataset_id: str, account: str = ACCOUNT) -> Dataset:
        if dataset_id not in self.files:
            raise RpcError(404, f"Dataset accounts/{account}/datasets/{dataset_id} not found")
        found = self.files[dataset_id]
        if found.ready_at is not None and found.ready_at <= time.monotonic():
            found.data["state"] = "READY"
        return found

    def upload(self, dataset_id: str, content: bytes) -> dict[str, Any]:
        found = self.dataset(dataset_id)
        if found.data["state"] == "READY":
            raise RpcError(412, f"Dataset {found.data['name']} is already uploaded")
        self.files_uploaded += 1
        found.content = content
        return {"filenameToSignedUrls": {}}

    def validate(self, dataset_id: str) -> dict[str, Any]:
        found = self.dataset(dataset_id)
        self.validations += 1
        if not found.content:
            raise RpcError(400, f"Dataset {found.data['name']} has no uploaded file")
        if self.dataset_refusals:
            raise RpcError(400, self.dataset_refusals.pop(0))
        for number, line in enumerate(found.content.splitlines(), 1):
            if not line.strip():
                continue
            try:
                example = json.loads(line)
            except ValueError:
                example = None
            if not _chat_or_preference(example):
                raise RpcError(400, f"Invalid dataset: line {number} is not a chat example with messages")
        found.ready_at = time.monotonic() + self.phase_seconds
        return {}

    def job(self, job_id: str, account: str = ACCOUNT, collection: str = SUPERVISED) -> Job:
        if job_id not in self.jobs or self.jobs[job_id].collection != collection:
            raise RpcError(404, f"{KINDS[collection]} accounts/{account}/{collection}/{job_id} not found")
        return self.jobs[job_id]

    def create_job(
        self, account: str, job_id: str | None, body: dict[str, Any], collection: str = SUPERVISED
    ) -> Job:
        job_id = job_id or f"{'sftj' if collection == SUPERVISED else 'dpoj'}-{secrets.token_hex(6)}"
        if not ID.match(job_id):
            raise RpcError(400, f"{collection} job id {job_id!r} must match [a-z][a-z0-9-]{{0,62}}")
        if job_id in self.jobs:
            raise RpcError(
                409, f"{KINDS[collection]} accounts/{account}/{collection}/{job_id} already exists"
            )
        settings = body if collection == SUPERVISED else body.get("trainingConfig") or {}
        if collection == DPO and (body.get("lossConfig") or {}).get("method", "DPO") != "DPO":
            raise RpcError(400, "lossConfig.method must be DPO for a DPO job")
        if not isinstance(settings.get("baseModel"), str):
            raise RpcError(400, "baseModel is required")
        datasets = [body.get("dataset")] + (
            [body["evaluationDataset"]] if body.get("evaluationDataset") else []
        )
        for name in datasets:
            dataset_id = str(name).rsplit("/", 1)[-1]
            if not str(name).startswith(f"accounts/{account}/datasets/") or dataset_id not in self.files:
                raise RpcError(404, f"Dataset {name} not found")
            if self.dataset(dataset_id).data["state"] != "READY":
                raise RpcError(412, f"Dataset {name} is not READY")
        training = self.files[str(body["dataset"]).rsplit("/", 1)[-1]]
        script = self.scripts.pop(0) if self.scripts else Script()
        epochs = int(settings.get("epochs", DEFAULT_EPOCHS))
        batch = int(settings.get("batchSizeSamples", DEFAULT_BATCH_SIZE))
        examples = int(training.data["exampleCount"])
        steps_per_epoch = max(1, math.ceil(examples / batch))
        output = settings.get("outputModel") or f"accounts/{account}/models/{job_id}"
        now = rfc3339()
        resolved = {
            "baseModel": settings["baseModel"],
            "outputModel": output,
            "epochs": epochs,
            "learningRate": settings.get("learningRate", 1e-4),
            "batchSizeSamples": batch,
            "loraRank": 8,
        }
        data = {
            "name": f"accounts/{account}/{collection}/{job_id}",
            "displayName": body.get("displayName", ""),
            "createTime": now,
            "updateTime": now,
            "state": "JOB_STATE_CREATING",
            "status": {"code": "OK", "message": ""},
            "createdBy": "ftgate@example.com",
            "dataset": body["dataset"],
            "jobProgress": {"percent": 0, "epoch": 0, "inputTokens": "0", "outputTokens": "0"},
            "estimatedCost": money(len(training.content) // 4 * epochs * self.price_per_1m / 1_000_000),
            "metricsFileSignedUrl": "",
        }
        if collection == SUPERVISED:
            data |= {"evaluationDataset": body.get("evaluationDataset", "")} | resolved
        else:
            data |= {"trainingConfig": resolved, "lossConfig": body.get("lossConfig") or {"method": "DPO"}}
        job = Job(
            data=data,
            request=dict(body),
            collection=collection,
            script=script,
            step_seconds=script.step_seconds or self.step_seconds,
            total_steps=steps_per_epoch * epochs,
            steps_per_epoch=steps_per_epoch,
        )
        job.next_at = time.monotonic() + self.phase_seconds
        self.jobs[job_id] = job
        return job

    def cancel(self, job_id: str, collection: str = SUPERVISED) -> Job:
        job = self.job(job_id, ACCOUNT, collection)
        state = job.data["state"].removeprefix("JOB_STATE_")
        if state == "CANCELLING":
            return job
        if state not in CANCELLABLE:
            raise RpcError(412, f"Job {job.data['name']} is {state} and cannot be cancelled")
        self._set(job, "CANCELLING")
        job.next_at = time.monotonic() + self.phase_seconds
        return job

    def _move(self, job: Job, now: float) -> None:
        if job.phase == "CANCELLING":
            self._finish(job, "CANCELLED")
        elif job.phase == "RUNNING":
            self._step(job, now)
        elif job.phase in PHASES:
            self._enter(job, PHASES[job.phase], now)

    def _enter(self, job: Job, phase: str, now: float) -> None:
        if phase == "COMPLETED":
            self.models.add(job.settings["outputModel"])
            self._finish(job, "COMPLETED")
            return
        self._set(job, phase)
        if phase == "RUNNING":
            job.data["jobProgress"]["epoch"] = 1
            job.next_at = now + job.step_seconds
        elif phase == "VALIDATING" and job.script.validating_seconds is not None:
            job.next_at = now + job.script.validating_seconds
        else:
            job.next_at = now + self.phase_seconds

    def _step(self, job: Job, now: float) -> None:
        job.step += 1
        step, total = job.step, job.total_steps
        epoch = (step - 1) // job.steps_per_epoch + 1
        loss = round(2.0 / (1 + 3 * (step - 1) / total), 5)
        job.metrics.append({"step": step, "epoch": epoch, "train_loss": loss, "time": rfc3339(PACIFIC)})
        tokens = int(job.data["jobProgress"]["inputTokens"]) + 100
        job.data["jobProgress"] = {
            "percent": int(100 * step / total),
            "epoch": min(step // job.steps_per_epoch + 1, job.settings["epochs"]),
            "inputTokens": str(tokens),
            "outputTokens": "0",
        }
        job.data["metricsFileSignedUrl"] = f"/signed/metrics/{job.id}.jsonl?Signature={secrets.token_hex(8)}"
        job.data["updateTime"] = rfc3339()
        if job.script.error is not None and step >= min(2, total):
            job.data["status"] = {"code": "INTERNAL", "message": job.script.error}
            self._finish(job, "FAILED")
        elif job.script.early_stop and step >= min(2, total):
            self.models.add(job.settings["outputModel"])
            self._finish(job, "EARLY_STOPPED")
        elif job.script.pause and step >= min(2, total):
            job.data["status"] = {"code": "OK", "message": "Paused by an administrator"}
            self._set(job, "PAUSED")
        elif step == total:
            self._enter(job, "WRITING_RESULTS", now)
        else:
            job.next_at = now + job.step_seconds

    def _set(self, job: Job, state: str) -> None:
        job.phase = state
        job.data["state"] = f"JOB_STATE_{state}"
        job.data["updateTime"] = rfc3339()

    def _finish(self, job: Job, state: str) -> None:
        self._set(job, state)
        job.phase = "done"
        job.data["completedTime"] = job.data["updateTime"]
