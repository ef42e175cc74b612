"""Fixtures for the local trainer: the session's tiny chat model (tests/conftest.py), its tokenizer,
the test data files, and a trainer factory with small, quick settings."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.unit.training.support import read_jsonl
from training.trainer import LocalTrainer, TrainingConfig


@pytest.fixture(scope="session")
def limericks() -> list[dict]:
    return read_jsonl("elle-limericks.jsonl")


@pytest.fixture(scope="session")
def weighted() -> list[dict]:
    return read_jsonl("marv-weighted.jsonl")


@pytest.fixture(scope="session")
def tokenizer(tiny_model: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


MakeTrainer = Callable[..., LocalTrainer]


@pytest.fixture
def make_trainer(tiny_model: Path) -> Iterator[MakeTrainer]:
    """make_trainer(training, validation=None, **config overrides)."""
    trainers: list[LocalTrainer] = []

    def make(training: list[dict], validation: list[dict] | None = None, **overrides) -> LocalTrainer:
        settings = {
            "model_dir": tiny_model,
            "method": "supervised",
            "n_epochs": 1,
            "batch_size": 2,
            "learning_rate": 3e-3,
            "seed": 0,
            "device": "cpu",
        }
        trainer = LocalTrainer(TrainingConfig(**{**settings, **overrides}), training, validation)
        trainers.append(trainer)
        return trainer

    yield make
    for trainer in trainers:
        trainer.close()
