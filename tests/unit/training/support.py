import json
from pathlib import Path

from training.trainer import LocalTrainer, StepMetrics

DATA = Path(__file__).parents[2] / "data"


def read_jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def run_all(trainer: LocalTrainer) -> list[StepMetrics]:
    metrics = []
    while trainer.completed_steps < trainer.total_steps:
        metrics.append(trainer.step())
    return metrics
