"""Fireworks AI's fine-tuning shapes and OpenAI's, both ways: resource ids derived from ftgate's,
the supervised fine-tuning or DPO job body from an OpenAI-shaped request (and what of one Fireworks
cannot do), and Fireworks' jobs as the records ftgate mirrors, with the events Fireworks does not
keep synthesised from the job and its metrics file. Pure functions: no HTTP here.

Mapping rules:
- Ids (datasets, jobs, output models) are lowercase `[a-z0-9-]`, at most 63 characters, and
  derived, so that a retried create names the same resource: a dataset from its content's hash,
  a job from the ftgate job id (lowercased, plus a hash of the id as it was, which keeps ids
  that differ only in case apart), an output model from the suffix and the job's id.
- `method.type` supervised → `supervisedFineTuningJobs`, dpo → `dpoJobs`; reinforcement is
  refused (`method.type`), as are OpenAI `integrations` (Fireworks' W&B needs a key of its own
  there). `seed` is accepted and not sent: Fireworks takes none.
- `n_epochs` → `epochs`; `batch_size` → `batchSizeSamples`; `learning_rate_multiplier` →
  `learningRate` = 1e-4 (Fireworks' default for LoRA) × the multiplier; "auto" leaves each to
  Fireworks. `suffix` is carried in `outputModel` (its id starts with the suffix, made id-safe).
- A DPO job (Fireworks' SDK `DpoJobCreateParams`) carries these, with `baseModel` and
  `outputModel`, in `trainingConfig`, and `lossConfig {method: "DPO", dpo: {beta}}` with
  `method.dpo.hyperparameters.beta` (Fireworks takes 0 < beta < 0.5: a beta of 0.5 or more is
  refused, naming it); it takes no evaluation dataset, so a `validation_file` is refused.
- ftgate's upstream id of a supervised job is its id; of a DPO job, `dpoJobs/{id}`: each is
  read and cancelled at its resource name.
- States (`JOB_STATE_*`): CREATING, PENDING, RE_QUEUEING, IDLE, CREATING_INPUT_DATASET → queued;
  VALIDATING → validating_files (ftgate shows both as queued, so neither moves a job back);
  RUNNING, WRITING_RESULTS, EVALUATION, CANCELLING → running; COMPLETED, EARLY_STOPPED →
  succeeded; FAILED, EXPIRED → failed with `status.message`; CANCELLED, DELETING,
  DELETING_CLEANING_UP, DELETED, ARCHIVED → cancelled; PAUSED → paused.
- `estimatedCost{currencyCode, units, nanos}` (a google.type.Money; units an int64, perhaps a
  string) is the job's estimated cost in exact micro-USD, carried on the job where the operator
  wants the upstream's figure; another currency than USD is not taken.
- Times are RFC 3339 (fractional seconds, `Z` or an offset); int64 values may come as strings.
- Events: one `metrics` event per line of the metrics file (`step`, `epoch`, loss), id
  `fw-step-{step}`; one message per finished epoch, id `fw-epoch-{n}`; a note when Fireworks
  stopped the training early (a failure's words are ftgate's own error event). Each is derived
  from the job (and its metrics) as they are read, with a stable id and time, so a read again
  adds nothing.
"""

import hashlib
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from gateway.budgets import pricing
from gateway.providers.base import (
    UPSTREAM_TERMINAL,
    Page,
    Unsupported,
    UpstreamEvent,
    UpstreamJob,
    UpstreamStatus,
)

ID_LIMIT = 63
NANOS_PER_UNIT = 1_000_000_000
NANOS_PER_MICRO = 1000
BASE_LEARNING_RATE = 1e-4
PREFIX = "JOB_STATE_"
STATES = {
    "CREATING": UpstreamStatus.QUEUED,
    "PENDING": UpstreamStatus.QUEUED,
    "RE_QUEUEING": UpstreamStatus.QUEUED,
    "IDLE": UpstreamStatus.QUEUED,
    "CREATING_INPUT_DATASET": UpstreamStatus.QUEUED,
    "VALIDATING": UpstreamStatus.VALIDATING_FILES,
    "RUNNING": UpstreamStatus.RUNNING,
    "WRITING_RESULTS": UpstreamStatus.RUNNING,
    "EVALUATION": UpstreamStatus.RUNNING,
    "CANCELLING": UpstreamStatus.RUNNING,
    "COMPLETED": UpstreamStatus.SUCCEEDED,
    "EARLY_STOPPED": UpstreamStatus.SUCCEEDED,
    "FAILED": UpstreamStatus.FAILED,
    "EXPIRED": UpstreamStatus.FAILED,
    "CANCELLED": UpstreamStatus.CANCELLED,
    "DELETING": UpstreamStatus.CANCELLED,
    "DELETING_CLEANING_UP": UpstreamStatus.CANCELLED,
    "DELETED": UpstreamStatus.CANCELLED,
    "ARCHIVED": UpstreamStatus.CANCELLED,
    "PAUSED": UpstreamStatus.PAUSED,
}
DATASET_READY = "READY"
FAILED = "The job failed at Fireworks."
EXPIRED = "The job expired at Fireworks before it finished."
NOTES = {"EARLY_STOPPED": ("info", "Fireworks stopped the training early")}
SUPERVISED_JOBS, DPO_JOBS = "supervisedFineTuningJobs", "dpoJobs"
COLLECTIONS = {"supervised": SUPERVISED_JOBS, "dpo": DPO_JOBS}
# The id parameter of a create, per collection.
ID_PARAMS = {SUPERVISED_JOBS: "supervisedFineTuningJobId", DPO_JOBS: "dpoJobId"}
# Fireworks' bound on a DPO beta (exclusive).
DPO_BETA_LIMIT = 0.5


def resource_id(text: str) -> str:
    """`text` as a Fireworks resource id: lowercase letters, digits and dashes, starting with a
    letter, at most 63 characters."""
    slug = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"x-{slug}".rstrip("-")
    return slug[:ID_LIMIT].rstrip("-")


def dataset_id(content: bytes) -> str:
    """A dataset's id from its content: the same file uploaded again names the same dataset."""
    return dataset_id_of_hash(hashlib.sha256(content).hexdigest())


def dataset_id_of_hash(sha256: str) -> str:
    return f"ftgate-{sha256[:40]}"


def job_id(ftgate_job_id: str) -> str:
    tag = hashlib.sha256(ftgate_job_id.encode()).hexdigest()[:6]
    return f"{resource_id(ftgate_job_id)[: ID_LIMIT - 7]}-{tag}"


def output_model_id(fireworks_job_id: str, suffix: str | None) -> str:
    if not suffix:
        return fireworks_job_id
    room = ID_LIMIT - len(fireworks_job_id) - 1
    return f"{resource_id(suffix)[:room].rstrip('-')}-{fireworks_job_id}"


def example_count(content: bytes) -> int:
    return sum(1 for line in content.splitlines() if line.strip())


def unsupported(request: dict[str, Any]) -> Unsupported | None:
    method = request.get("method") or {}
    kind = method.get("type", "supervised")
    if kind not in COLLECTIONS:
        return Unsupported(
            f"Fireworks fine-tunes with the 'supervised' or 'dpo' method only, not '{kind}'.", "method.type"
        )
    if request.get("integrations"):
        return Unsupported(
            "Fireworks runs no OpenAI integrations (its Weights & Biases reporting needs a key of its own).",
            "integrations",
        )
    if kind == "dpo":
        return _unsupported_dpo(request, _hyperparameters(request))
    return None


def _unsupported_dpo(request: dict[str, Any], values: dict[str, Any]) -> Unsupported | None:
    if request.get("validation_file"):
        return Unsupported("Fireworks' DPO jobs take no validation file.", "validation_file")
    beta = values.get("beta")
    if _number(beta) and beta >= DPO_BETA_LIMIT:
        return Unsupported(
            f"Fireworks takes a DPO beta above 0 and below {DPO_BETA_LIMIT}; this one is {beta}.",
            "method.dpo.hyperparameters.beta",
        )
    return None


def collection(request: dict[str, Any]) -> str:
    """Where Fireworks keeps the jobs of the request's method."""
    return COLLECTIONS[(request.get("method") or {}).get("type", "supervised")]


def upstream_job_id(jobs: str, fireworks_job_id: str) -> str:
    """ftgate's id of a Fireworks job in the collection `jobs`: a supervised job's own id, a DPO
    job's `dpoJobs/{id}`."""
    return fireworks_job_id if jobs == SUPERVISED_JOBS else f"{jobs}/{fireworks_job_id}"


def job_path(upstream_id: str) -> str:
    """A job's resource name under its account, from ftgate's id of it."""
    return upstream_id if "/" in upstream_id else f"{SUPERVISED_JOBS}/{upstream_id}"


def create_body(request: dict[str, Any], account: str, fireworks_job_id: str) -> dict[str, Any]:
    """The job body for an OpenAI-shaped request `unsupported` let through (its files already
    Fireworks dataset names): a `supervisedFineTuningJobs` or a `dpoJobs` one."""
    values = _hyperparameters(request)
    marker = (request.get("metadata") or {}).get("ftgate_job_id")
    output = output_model_id(fireworks_job_id, request.get("suffix"))
    settings: dict[str, Any] = {
        "baseModel": request["model"],
        "outputModel": f"accounts/{account}/models/{output}",
    }
    if _number(values.get("n_epochs")):
        settings["epochs"] = values["n_epochs"]
    if _number(values.get("learning_rate_multiplier")):
        settings["learningRate"] = BASE_LEARNING_RATE * values["learning_rate_multiplier"]
    if _number(values.get("batch_size")):
        settings["batchSizeSamples"] = values["batch_size"]
    body: dict[str, Any] = {
        "displayName": str(marker or request.get("suffix") or fireworks_job_id),
        "dataset": request["training_file"],
    }
    if collection(request) == DPO_JOBS:
        loss: dict[str, Any] = {"method": "DPO"}
        if _number(values.get("beta")):
            loss["dpo"] = {"beta": values["beta"]}
        return body | {"trainingConfig": settings, "lossConfig": loss}
    if request.get("validation_file"):
        body["evaluationDataset"] = request["validation_file"]
    return body | settings


def _hyperparameters(request: dict[str, Any]) -> dict[str, Any]:
    method = request.get("method") or {"type": "supervised"}
    return dict((method.get(method.get("type", "supervised")) or {}).get("hyperparameters") or {})


def state(item: dict[str, Any]) -> str:
    return str(item.get("state") or "").removeprefix(PREFIX)


def status(item: dict[str, Any]) -> UpstreamStatus:
    found = state(item)
    return UpstreamStatus.read(found, STATES) if found else UpstreamStatus.QUEUED


def job(item: dict[str, Any], estimates: bool = False) -> UpstreamJob:
    """The job record; with `estimates`, Fireworks' estimated cost on it."""
    mapped = status(item)
    ended = unix(item.get("completedTime") or item.get("updateTime")) if mapped in UPSTREAM_TERMINAL else None
    jobs, fireworks_job_id = str(item["name"]).split("/")[-2:]
    return UpstreamJob(
        id=upstream_job_id(jobs, fireworks_job_id),
        status=mapped,
        fine_tuned_model=output_model(item) if mapped == UpstreamStatus.SUCCEEDED else None,
        trained_tokens=None,
        finished_at=ended,
        estimated_finish=None,
        error=_error(item) if mapped == UpstreamStatus.FAILED else None,
        estimated_cost_micros=cost_micros(item.get("estimatedCost")) if estimates else None,
    )


def cost_micros(money: Any) -> int | None:
    """A google.type.Money in USD as micro-USD (nanos rounded half up), or None."""
    if not isinstance(money, dict) or (money.get("currencyCode") or "USD") != "USD":
        return None
    units, nanos = integer(money.get("units", 0)), integer(money.get("nanos", 0))
    if units is None or nanos is None or units < 0 or not 0 <= nanos < NANOS_PER_UNIT:
        return None
    return units * pricing.MICROS_PER_USD + (nanos + NANOS_PER_MICRO // 2) // NANOS_PER_MICRO


def output_model(item: dict[str, Any]) -> str | None:
    name = _setting(item, "outputModel")
    if not name:
        return None
    account = str(item.get("name", "")).split("/")[1] if str(item.get("name", "")).count("/") >= 3 else None
    return str(name) if "/" in str(name) or account is None else f"accounts/{account}/models/{name}"


def events(item: dict[str, Any], metrics: list[dict[str, Any]]) -> list[UpstreamEvent]:
    """The job's events, newest first, from the job as read now and its metrics file's lines."""
    found: list[tuple[float, int, UpstreamEvent]] = []
    created = moment(item.get("createTime"))
    rows = sorted((row for row in metrics if _step(row) is not None), key=lambda row: _step(row) or 0)
    for row in rows:
        at = moment(row.get("time") or row.get("timestamp")) if _time_of(row) else created
        found.append((at, 0, _metrics(row, at)))
    epochs = _epochs_done(item, rows)
    for epoch, at in epochs:
        text = f"Epoch {epoch} completed"
        found.append((at, 1, UpstreamEvent(f"fw-epoch-{epoch}", int(at), "info", text, None, "message")))
    note = NOTES.get(state(item))
    if note is not None:
        at = moment(item.get("completedTime") or item.get("updateTime"))
        level, text = note
        found.append(
            (at, 2, UpstreamEvent(f"fw-{state(item).lower()}", int(at), level, text, None, "message"))
        )
    found.sort(key=lambda entry: (entry[0], entry[1]))
    return [event for *_, event in reversed(found)]


def metrics_lines(text: str) -> list[dict[str, Any]]:
    """The metrics file's JSON lines (others skipped)."""
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def page(items: list[UpstreamEvent], after: str | None, limit: int) -> Page[UpstreamEvent]:
    """One page of `items` (newest first) after the one whose id is `after`."""
    if after is not None:
        ids = [item.id for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    return Page(items[:limit], len(items) > limit)


def unix(value: Any) -> int:
    """Unix seconds of an RFC 3339 time (UTC where it names no offset), or of a number."""
    return int(moment(value))


def moment(value: Any) -> float:
    if value is None or value == "":
        return time.time()
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace("z", "Z").replace("Z", "+00:00")
    # Python before 3.11 reads at most 6 fractional digits; Fireworks may send 9.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    parsed = datetime.fromisoformat(text)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def integer(value: Any) -> int | None:
    """An int64 as Fireworks sends it: a number or a string of one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _setting(item: dict[str, Any], key: str) -> Any:
    """A job's setting: on a supervised job itself, on a DPO job in its `trainingConfig`."""
    return item.get(key, (item.get("trainingConfig") or {}).get(key))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _float(value: Any) -> float | None:
    if _number(value):
        return float(value)
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return None


def _time_of(row: dict[str, Any]) -> bool:
    return bool(row.get("time") or row.get("timestamp"))


def _step(row: dict[str, Any]) -> int | None:
    return integer(row.get("step", row.get("global_step")))


def _metrics(row: dict[str, Any], at: float) -> UpstreamEvent:
    step = _step(row)
    data: dict[str, Any] = {"step": step}
    loss = _float(row.get("train_loss", row.get("loss")))
    if loss is not None:
        data["train_loss"] = loss
    epoch = integer(row.get("epoch"))
    if epoch is not None:
        data["epoch"] = epoch
    for key in ("valid_loss", "eval_loss"):
        if (value := _float(row.get(key))) is not None:
            data["valid_loss"] = value
    text = f"Step {step}" + (f": training loss={loss:.2f}" if loss is not None else "")
    return UpstreamEvent(f"fw-step-{step}", int(at), "info", text, data, "metrics")


def _epochs_done(item: dict[str, Any], rows: list[dict[str, Any]]) -> list[tuple[int, float]]:
    """The finished epochs, each with when it finished: the time of its last metrics line (once a
    later epoch's line or the job's success shows it finished), else, without metrics, the job's
    creation (`jobProgress.epoch` counts the epoch under way from 1; a succeeded job finished
    them all)."""
    last: dict[int, float] = {}
    for row in rows:
        epoch = integer(row.get("epoch"))
        if epoch is not None and _time_of(row):
            last[epoch] = moment(row.get("time") or row.get("timestamp"))
    succeeded = status(item) == UpstreamStatus.SUCCEEDED and state(item) == "COMPLETED"
    if last:
        newest = max(last)
        return [(epoch, at) for epoch, at in sorted(last.items()) if epoch < newest or succeeded]
    current = integer((item.get("jobProgress") or {}).get("epoch")) or 0
    total = integer(_setting(item, "epochs")) or current
    done = total if succeeded else max(current - 1, 0)
    created = moment(item.get("createTime"))
    return [(epoch, created) for epoch in range(1, done + 1)]


def _error(item: dict[str, Any]) -> dict[str, Any]:
    """Fireworks' own words for the failure: `status.message`."""
    message = (item.get("status") or {}).get("message")
    if not message:
        message = EXPIRED if state(item) == "EXPIRED" else FAILED
    return {"code": "upstream_error", "message": str(message), "param": None}
