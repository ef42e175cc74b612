"""Together AI's fine-tuning shapes and OpenAI's, both ways: the create body from an OpenAI-shaped
request (and what of one Together cannot do), and Together's jobs, events, metrics and
checkpoints as the records ftgate mirrors. Pure functions: no HTTP here.

Mapping rules:
- `method.type` supervised → `training_method {method: "sft"}`, dpo → `{method: "dpo", dpo_beta}`;
  reinforcement is refused (`method.type`), as are OpenAI `integrations` (Together's W&B needs a
  key of its own there) and suffixes over Together's 40 characters (`suffix`).
- `n_epochs` as is; `batch_size` an integer, or "max" for "auto"; `learning_rate` is
  1e-5 × `learning_rate_multiplier` (1e-5 is Together's default rate: multiplier 1 keeps it);
  `seed` → `random_seed`; `training_type` is LoRA.
- Price estimates (`POST /fine-tunes/estimate-price`): the create body's files, model, epochs
  (Together's default of 1 where the create leaves them to it), method and training type, with
  no evaluations (ftgate's creates ask for none); `estimated_total_price` (USD) where
  `estimation_available`, and `allowed_to_proceed: false` refuses the job with a 400.
- Statuses: pending, queued → queued; running, compressing, uploading, cancel_requested →
  running; cancelled → cancelled; error → failed; completed → succeeded.
- Times are ISO 8601 strings; a time without an offset is UTC. Unix seconds come out.
- Events carry no ids: each gets a stable one from its time, type, step and text (and its rank
  among identical ones). Steps become OpenAI `metrics` events, from `/metrics` where Together
  answers it, else from its progress events (those with `step` and `total_steps`).
"""

import hashlib
import math
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from gateway.budgets import pricing
from gateway.providers.base import (
    UPSTREAM_TERMINAL,
    Page,
    Unsupported,
    UpstreamCheckpoint,
    UpstreamError,
    UpstreamEvent,
    UpstreamJob,
    UpstreamStatus,
)

SUFFIX_LIMIT = 40
DEFAULT_EPOCHS = 1
ESTIMATED = ("training_file", "validation_file", "model", "n_epochs", "training_method", "training_type")
NOT_ALLOWED = "upstream_not_allowed"
BASE_LEARNING_RATE = 1e-5
METHODS = {"supervised": "sft", "dpo": "dpo"}
STATUSES = {
    "pending": UpstreamStatus.QUEUED,
    "queued": UpstreamStatus.QUEUED,
    "running": UpstreamStatus.RUNNING,
    "compressing": UpstreamStatus.RUNNING,
    "uploading": UpstreamStatus.RUNNING,
    "cancel_requested": UpstreamStatus.RUNNING,
    "cancelled": UpstreamStatus.CANCELLED,
    "error": UpstreamStatus.FAILED,
    "completed": UpstreamStatus.SUCCEEDED,
}
LEVELS = {"warning": "warn", "legacy_iwarning": "warn", "error": "error", "legacy_ierror": "error"}
STARTED = "Fine-tuning job started"
SUCCEEDED = "The job has successfully completed"
MODEL_CREATED = "New fine-tuned model created: "
# Together's event types that read as OpenAI's texts (checkpoint_save names its step).
TEXTS = {
    "job_start": STARTED,
    "job_complete": SUCCEEDED,
    "cancel_requested": "Fine tuning process stopping due to job cancellation",
}
FAILED = "The job failed at Together."


def unsupported(request: dict[str, Any]) -> Unsupported | None:
    kind = (request.get("method") or {}).get("type", "supervised")
    if kind not in METHODS:
        return Unsupported(
            f"Together fine-tunes with the 'supervised' or 'dpo' method only, not '{kind}'.", "method.type"
        )
    suffix = request.get("suffix") or ""
    if len(suffix) > SUFFIX_LIMIT:
        return Unsupported(
            f"Together allows a suffix of at most {SUFFIX_LIMIT} characters; this one has {len(suffix)}.",
            "suffix",
        )
    if request.get("integrations"):
        return Unsupported(
            "Together runs no OpenAI integrations (its Weights & Biases reporting needs a key of its own).",
            "integrations",
        )
    return None


def create_body(request: dict[str, Any]) -> dict[str, Any]:
    """Together's `POST /fine-tunes` body for an OpenAI-shaped request `unsupported` let through."""
    method = request.get("method") or {"type": "supervised"}
    kind = method["type"]
    values = (method.get(kind) or {}).get("hyperparameters") or {}
    training_method: dict[str, Any] = {"method": METHODS[kind]}
    if kind == "dpo" and _number(values.get("beta")):
        training_method["dpo_beta"] = values["beta"]
    body: dict[str, Any] = {
        "model": request["model"],
        "training_file": request["training_file"],
        "training_type": {"type": "Lora"},
        "training_method": training_method,
        "batch_size": values["batch_size"] if _number(values.get("batch_size")) else "max",
    }
    if request.get("validation_file"):
        body["validation_file"] = request["validation_file"]
    if _number(values.get("n_epochs")):
        body["n_epochs"] = values["n_epochs"]
    if _number(values.get("learning_rate_multiplier")):
        body["learning_rate"] = BASE_LEARNING_RATE * values["learning_rate_multiplier"]
    if request.get("suffix"):
        body["suffix"] = request["suffix"]
    if request.get("seed") is not None:
        body["random_seed"] = request["seed"]
    return body


def estimate_body(request: dict[str, Any]) -> dict[str, Any]:
    """Together's `POST /fine-tunes/estimate-price` body for the job `create_body` would make."""
    body = create_body(request)
    estimate = {key: body[key] for key in ESTIMATED if key in body}
    return estimate | {"n_epochs": body.get("n_epochs", DEFAULT_EPOCHS), "n_evals": 0}


def estimated_cost(answer: dict[str, Any]) -> int | None:
    """Together's estimate in micro-USD, or None where it has none; UpstreamError (400) where
    Together says the account may not go ahead with the job."""
    price = answer.get("estimated_total_price")
    known = bool(answer.get("estimation_available")) and _number(price) and price >= 0
    if answer.get("allowed_to_proceed") is False:
        cost = f" of {pricing.usd_text(pricing.usd_to_micros(price))}" if known else ""
        raise UpstreamError(
            f"Together will not run this job: its price estimate{cost} came with allowed_to_proceed "
            "false (the Together account cannot pay for it; its balance or limit must be raised).",
            status=400,
            code=NOT_ALLOWED,
            retryable=False,
        )
    return pricing.usd_to_micros(price) if known else None


def is_same_create(item: dict[str, Any], body: dict[str, Any], sent_after: int) -> bool:
    """Whether Together's job `item` is what the create `body` made: the same files, model, method
    and hyperparameters (those Together shows), its suffix in the output model's name, created
    no earlier than `sent_after`."""
    method = body["training_method"]["method"]
    suffix = body.get("suffix")
    return (
        item.get("training_file") == body["training_file"]
        and (item.get("validation_file") or None) == body.get("validation_file")
        and item.get("model") == body["model"]
        and (item.get("training_method") or {}).get("method", method) == method
        and all(_alike(item.get(key), body.get(key)) for key in ("n_epochs", "batch_size", "learning_rate"))
        and (not suffix or suffix in (output_name(item) or suffix))
        and unix(item.get("created_at")) >= sent_after
    )


def _alike(shown: Any, sent: Any) -> bool:
    """Equal, where both are numbers (Together chose the value ftgate left to it, or hides it)."""
    return not (_number(shown) and _number(sent)) or math.isclose(shown, sent)


def job(item: dict[str, Any]) -> UpstreamJob:
    status = UpstreamStatus.read(str(item["status"]), STATUSES)
    ended = unix(item.get("updated_at")) if status in UPSTREAM_TERMINAL else None
    return UpstreamJob(
        id=str(item["id"]),
        status=status,
        fine_tuned_model=output_name(item) if status == UpstreamStatus.SUCCEEDED else None,
        trained_tokens=_trained_tokens(item) if status == UpstreamStatus.SUCCEEDED else None,
        finished_at=ended,
        estimated_finish=_estimated_finish(item) if status == UpstreamStatus.RUNNING else None,
        error=_error(item) if status == UpstreamStatus.FAILED else None,
    )


def output_name(item: dict[str, Any]) -> str | None:
    name = item.get("model_output_name") or item.get("x_model_output_name")
    return str(name) if name else None


def events(
    items: list[dict[str, Any]], metrics: list[dict[str, Any]] | None, model: str | None
) -> list[UpstreamEvent]:
    """Together's events (oldest first) and metrics (None where `/metrics` did not answer) as
    OpenAI's, newest first. `model` is the output model, named before the job's completion."""
    found: list[tuple[float, UpstreamEvent]] = []
    seen: Counter[str] = Counter()
    for item in items:
        key = _content_key(item)
        seen[key] += 1
        event_id = f"{key}-{seen[key]}" if seen[key] > 1 else key
        moment = _moment(item.get("created_at"))
        found.extend((moment, event) for event in _event(item, event_id, metrics is None, model))
    total = max((int(item["total_steps"]) for item in items if item.get("total_steps")), default=None)
    for item in metrics or []:
        if _step(item) is not None:
            found.append(
                (_moment(item.get("logged_at") or item.get("created_at")), _metrics_event(item, total))
            )
    # By the exact time (a job's list then only grows at its newest end), stable for equal times.
    found.sort(key=lambda pair: pair[0])
    return [event for _, event in reversed(found)]


def checkpoints(
    items: list[dict[str, Any]], model: str | None, losses: dict[int, float]
) -> list[UpstreamCheckpoint]:
    listed = []
    for item in items:
        step = item.get("step")
        if step is None:
            continue
        metrics = {"step": float(step)} | ({"train_loss": losses[step]} if step in losses else {})
        listed.append(
            UpstreamCheckpoint(
                id=f"step-{step}",
                created_at=unix(item.get("created_at")),
                name=f"{model}:{step}" if model else str(item.get("path") or f"step-{step}"),
                step_number=int(step),
                metrics=metrics,
            )
        )
    return sorted(listed, key=lambda checkpoint: checkpoint.step_number, reverse=True)


def losses(metrics: list[dict[str, Any]] | None) -> dict[int, float]:
    return {
        step: float(item["train_loss"])
        for item in metrics or []
        if (step := _step(item)) is not None and _number(item.get("train_loss"))
    }


def page(items: list[Any], after: str | None, limit: int) -> Page[Any]:
    """One page of `items` (newest first, each with an `id`) after the one whose id is `after`."""
    if after is not None:
        ids = [item.id for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    return Page(items[:limit], len(items) > limit)


def unix(value: Any) -> int:
    """Unix seconds of an ISO 8601 time (UTC where it names no offset), or of a number."""
    return int(_moment(value))


def _moment(value: Any) -> float:
    if value is None or value == "":
        return time.time()
    if isinstance(value, int | float):
        return float(value)
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _event(
    item: dict[str, Any], event_id: str, steps_from_events: bool, model: str | None
) -> list[UpstreamEvent]:
    kind = str(item.get("type") or "message")
    created_at = unix(item.get("created_at"))
    step = item.get("step")
    if kind not in TEXTS and kind != "checkpoint_save" and step is not None and item.get("total_steps"):
        if not steps_from_events:
            return []  # a progress event: its step comes from /metrics
        data = {"step": int(step), "total_steps": int(item["total_steps"])}
        message = f"Step {step}/{item['total_steps']}"
        return [UpstreamEvent(event_id, created_at, "info", message, data, "metrics")]
    level = "error" if kind == "job_error" else LEVELS.get(str(item.get("level")), "info")
    if kind == "checkpoint_save" and step is not None:
        message = f"Checkpoint created at step {step}"
    else:
        message = TEXTS.get(kind) or str(item.get("message") or kind)
    announced = []
    if kind == "job_complete" and model:
        announced.append(
            UpstreamEvent(f"{event_id}-model", created_at, "info", MODEL_CREATED + model, None, "message")
        )
    return [*announced, UpstreamEvent(event_id, created_at, level, message, None, "message")]


def _metrics_event(item: dict[str, Any], total: int | None) -> UpstreamEvent:
    step = _step(item)
    data: dict[str, Any] = {"step": step}
    if total is not None:
        data["total_steps"] = total
    for key in ("train_loss", "train_mean_token_accuracy", "valid_loss", "valid_mean_token_accuracy"):
        if _number(item.get(key)):
            data[key] = item[key]
    of_total = f"/{total}" if total is not None else ""
    loss = f": training loss={item['train_loss']:.2f}" if "train_loss" in data else ""
    created_at = unix(item.get("logged_at") or item.get("created_at"))
    return UpstreamEvent(
        f"metrics-{step}", created_at, "info", f"Step {step}{of_total}{loss}", data, "metrics"
    )


def _content_key(item: dict[str, Any]) -> str:
    content = "|".join(str(item.get(key)) for key in ("created_at", "type", "step", "message"))
    return "tg-" + hashlib.sha256(content.encode()).hexdigest()[:24]


def _step(item: dict[str, Any]) -> int | None:
    step = item.get("global_step", item.get("step"))
    return int(step) if _number(step) else None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _trained_tokens(item: dict[str, Any]) -> int | None:
    tokens, epochs = item.get("token_count"), item.get("n_epochs")
    return int(tokens) * int(epochs) if _number(tokens) and _number(epochs) else None


def _estimated_finish(item: dict[str, Any]) -> int | None:
    progress = item.get("progress") or {}
    if not progress.get("estimate_available") or not _number(progress.get("seconds_remaining")):
        return None
    return int(time.time() + progress["seconds_remaining"])


def _error(item: dict[str, Any]) -> dict[str, Any]:
    """Together's own words for the failure: its last error event's message."""
    failures = [
        event.get("message")
        for event in item.get("events") or []
        if event.get("type") == "job_error" or event.get("level") == "error"
    ]
    message = next((str(text) for text in reversed(failures) if text), FAILED)
    return {"code": "upstream_error", "message": message, "param": None}
