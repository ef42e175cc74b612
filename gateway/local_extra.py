"""Whether this install has the `local` extra (`pip install 'ftgate[local]'`): torch, transformers
and the rest of what trains local models, counts their tokens and serves them with ftgate's own
engine. A gateway or worker that only forwards to upstreams goes without; the local models are
then not offered, and what would need them is refused by name rather than failing on an import."""

import importlib.util
import logging
from functools import cache

from gateway.catalog import BaseModelSpec
from gateway.errors import InvalidRequest
from gateway.fine_tuning.job_error import JobError

# The import names of the extra's packages, in pyproject.toml's order.
MODULES = ("torch", "transformers", "tokenizers", "peft", "accelerate", "safetensors", "gguf")
CODE = "local_extra_missing"
INSTALL = "pip install 'ftgate[local]'"

log = logging.getLogger(__name__)


@cache
def missing() -> tuple[str, ...]:
    """The extra's modules this interpreter cannot import (found without importing them)."""
    return tuple(name for name in MODULES if importlib.util.find_spec(name) is None)


def installed() -> bool:
    return not missing()


def _explanation() -> str:
    return (
        f"this ftgate is installed without its `local` extra (missing: {', '.join(missing())}); "
        f"install it with `{INSTALL}`."
    )


def log_unoffered(catalog: list[BaseModelSpec]) -> None:
    """Tell the operator which local models this install does not offer, and why."""
    local = [spec.id for spec in catalog if spec.runs_here]
    if local and not installed():
        log.warning("the local models %s are not offered: %s", ", ".join(local), _explanation())


def refusal(model: str) -> InvalidRequest:
    """The answer to a request that needs the extra: a job on a local model, a chat with one."""
    return InvalidRequest(
        f"The local model `{model}` cannot run here: {_explanation()}", param="model", code=CODE
    )


def job_error() -> JobError:
    """The error of a local job that reached a worker without the extra."""
    return JobError(CODE, f"This worker cannot train the job's local model: {_explanation()}", "model")


def require_for_command(command: str) -> None:
    """Stop a CLI command that needs the extra with a message saying how to get it."""
    if not installed():
        raise SystemExit(f"{command}: {_explanation()}")
