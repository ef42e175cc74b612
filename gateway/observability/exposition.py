"""What /metrics answers: the metrics of this process, or of every process writing into
PROMETHEUS_MULTIPROC_DIR, with the state read when scraped, in Prometheus' text format.

PROMETHEUS_MULTIPROC_DIR is the client library's own variable (it reads it when first imported),
so it is read here rather than through the settings."""

import os
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.metrics_core import Metric

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> Path | None:
    folder = os.environ.get(MULTIPROC_DIR_VARIABLE)
    return Path(folder) if folder else None


def clean_multiprocess_dir() -> None:
    """Empty the folder before the processes that write into it start, as the client asks: files
    left by an earlier run would be added to this one's."""
    folder = multiprocess_dir()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)


def mark_process_dead(pid: int) -> None:
    """Drop a finished process's live gauges (the requests it had in progress)."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)


def process_registry() -> CollectorRegistry:
    """Every process's values in multiprocess mode, else this process's."""
    if multiprocess_dir() is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


class _Families:
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> list[Metric]:
        return self._families


def render(state: list[Metric]) -> bytes:
    registry = CollectorRegistry()
    registry.register(_Families([*process_registry().collect(), *state]))
    return generate_latest(registry)
