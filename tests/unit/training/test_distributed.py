"""A job trained by two processes (torchrun, gloo on the CPU), each holding the whole model (DDP) or
half of its weights (FSDP), takes the steps one process takes."""

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from safetensors.torch import load_file

from tests.support.processes import descendants_running
from tests.unit.training.support import run_all
from training.trainer import StepMetrics, TrainingConfig, TrainingDataError
from workers.local.launch import ProcessGroupTrainer, TrainingProcessesLost

SETTINGS = {"method": "supervised", "n_epochs": 2, "batch_size": 3, "learning_rate": 3e-3, "seed": 0}
SHARDINGS = ["ddp", "fsdp"]
ADAPTER_FILE = "adapter_model.safetensors"

MakeGroup = Callable[..., ProcessGroupTrainer]


@pytest.fixture
def make_group(tiny_model: Path) -> Iterator[MakeGroup]:
    """make_group(training, validation=None, sharding="ddp", **config overrides): two ranks on the CPU."""
    groups: list[ProcessGroupTrainer] = []

    def make(
        training: list[dict], validation: list[dict] | None = None, sharding: str = "ddp", **overrides
    ) -> ProcessGroupTrainer:
        config = TrainingConfig(model_dir=tiny_model, device="cpu", **{**SETTINGS, **overrides})
        group = ProcessGroupTrainer(config, training, validation, processes=2, sharding=sharding)
        groups.append(group)
        return group

    yield make
    for group in groups:
        group.close()


def assert_same_steps(two: list[StepMetrics], one: list[StepMetrics]) -> None:
    assert [m.step for m in two] == [m.step for m in one]
    for a, b in zip(two, one, strict=True):
        assert a.tokens == b.tokens and a.epoch_end == b.epoch_end
        assert a.train_loss == pytest.approx(b.train_loss, abs=1e-5)
        assert a.train_mean_token_accuracy == pytest.approx(b.train_mean_token_accuracy, abs=1e-6)
        for two_value, one_value in ((a.valid_loss, b.valid_loss), (a.full_valid_loss, b.full_valid_loss)):
            assert two_value == pytest.approx(one_value, abs=1e-5)


@pytest.mark.parametrize("sharding", SHARDINGS)
def test_two_processes_and_a_resume_give_one_process_s_steps_and_adapter(
    make_trainer, make_group, limericks, tmp_path: Path, sharding: str
):
    # 5 examples in batches of 3: each epoch's second batch gives each rank one example.
    training, validation = limericks[:5], limericks[5:8]
    alone = make_trainer(training, validation, **SETTINGS)
    one = run_all(alone)

    first = make_group(training, validation, sharding)
    assert (first.total_steps, first.completed_steps) == (4, 0)
    two = [first.step() for _ in range(3)]
    first.save_state(tmp_path / "state")
    first.close()
    resumed = make_group(training, validation, sharding)
    resumed.load_state(tmp_path / "state")
    assert resumed.completed_steps == 3
    two += run_all(resumed)

    assert len(one) == 4 and any(m.full_valid_loss is not None for m in one)
    assert_same_steps(two, one)
    assert sum(m.tokens for m in two) == resumed.trained_tokens
    # The adapter is written whole, as one process writes it. Adam magnifies the sums' rounding
    # where a gradient is near zero, so the weights are compared as a whole.
    resumed.save_adapter(tmp_path / "two")
    alone.save_adapter(tmp_path / "one")
    two_weights, one_weights = (load_file(tmp_path / name / ADAPTER_FILE) for name in ("two", "one"))
    assert two_weights.keys() == one_weights.keys()
    for name, weights in two_weights.items():
        assert (weights.shape, weights.dtype) == (one_weights[name].shape, one_weights[name].dtype)
        assert (weights - one_weights[name]).norm() <= 1e-3 * one_weights[name].norm(), name


@pytest.mark.parametrize("sharding", SHARDINGS)
def test_dpo_with_a_rank_left_without_examples(make_trainer, make_group, sharding: str):
    pairs = [
        {
            "input": {"messages": [{"role": "user", "content": f"Tell me about {element}"}]},
            "preferred_output": [{"role": "assistant", "content": f"{element}, oh {element}, so light"}],
            "non_preferred_output": [{"role": "assistant", "content": "I do not know."}],
        }
        for element in ("Gallium", "Hydrogen", "Helium", "Lithium")
    ]
    # Batches of 3 and 1: the second step's single pair leaves rank 1 nothing to train on.
    overrides = {**SETTINGS, "method": "dpo", "n_epochs": 1}
    two = run_all(make_group(pairs, None, sharding, **overrides))
    assert_same_steps(two, run_all(make_trainer(pairs, **overrides)))


def test_unusable_data_is_reported_as_by_one_process(make_trainer, make_group, limericks):
    no_assistant = [{"messages": [{"role": "user", "content": "Hello"}]}]
    with pytest.raises(TrainingDataError) as one:
        make_trainer([*limericks[:2], *no_assistant])
    with pytest.raises(TrainingDataError) as two:
        make_group([*limericks[:2], *no_assistant])
    assert str(two.value) == str(one.value)


def test_a_killed_rank_stops_the_group(make_group, limericks):
    group = make_group(limericks[:6])
    group.step()
    ranks = descendants_running("training.rank")
    assert len(ranks) == 2
    os.kill(ranks[1], signal.SIGKILL)
    with pytest.raises(TrainingProcessesLost):
        group.step()
    group.close()
    assert descendants_running("training.rank") == []
