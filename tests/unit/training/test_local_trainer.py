import math

import pytest
import torch

from tests.unit.training.support import run_all

PAIRS = [
    {
        "input": {"messages": [{"role": "user", "content": f"Tell me about {element}"}]},
        "preferred_output": [{"role": "assistant", "content": f"{element}, oh {element.lower()}, so light"}],
        "non_preferred_output": [{"role": "assistant", "content": "I do not know."}],
    }
    for element in ("Gallium", "Hydrogen", "Helium", "Lithium")
]


def losses(metrics) -> list[float]:
    return [m.train_loss for m in metrics]


def test_step_counts_and_tokens(make_trainer, limericks):
    trainer = make_trainer(limericks[:5], n_epochs=3, batch_size=2)

    assert (trainer.steps_per_epoch, trainer.total_steps, trainer.completed_steps) == (3, 9, 0)
    assert trainer.device == "cpu"
    metrics = run_all(trainer)
    assert [m.epoch for m in metrics] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert [m.epoch_end for m in metrics] == [False, False, True] * 3
    assert sum(m.tokens for m in metrics) == trainer.trained_tokens
    with pytest.raises(RuntimeError, match="complete"):
        trainer.step()


def gradients_at_each_step(trainer) -> list[dict[str, torch.Tensor]]:
    seen: list[dict[str, torch.Tensor]] = []

    def record(optimizer, args, kwargs):
        seen.append({name: p.grad.clone() for name, p in trainer.model.named_parameters() if p.requires_grad})

    trainer.optimizer.register_step_pre_hook(record)
    return seen


def test_step_loss_and_gradient_do_not_depend_on_the_micro_batch_split(make_trainer, limericks):
    whole = make_trainer(limericks[:6], batch_size=3)
    one_per_row = make_trainer(limericks[:6], batch_size=3, max_tokens_per_micro_batch=1)
    whole_gradients, split_gradients = gradients_at_each_step(whole), gradients_at_each_step(one_per_row)

    for _ in range(2):
        a, b = whole.step(), one_per_row.step()
        assert a.train_loss == pytest.approx(b.train_loss, rel=1e-5)
        assert a.train_mean_token_accuracy == b.train_mean_token_accuracy
    # The clipped gradient the optimizer sees, compared rather than Adam's update: Adam moves every element
    # by about ±learning_rate whatever its gradient's size, so float noise in a gradient near zero shows
    # there as a large difference. Summing rows in another order leaves the gradient within float noise
    # (measured up to 1.2e-4 of its norm at the second step, whose weights carry the first step's
    # noise); a row weighted 1.2 times instead of once moves it by several hundredths.
    assert len(whole_gradients) == len(split_gradients) == 2
    for whole_step, split_step in zip(whole_gradients, split_gradients, strict=True):
        assert any(gradient.norm() > 0 for gradient in whole_step.values())
        for name, gradient in whole_step.items():
            assert (split_step[name] - gradient).norm() <= 1e-3 * gradient.norm(), name


def test_same_seed_same_curve_other_seed_other_curve(make_trainer, limericks):
    def curve(seed: int) -> list[float]:
        return losses(run_all(make_trainer(limericks[:6], n_epochs=2, seed=seed, lora_dropout=0.1)))

    first = curve(0)
    assert curve(0) == first
    assert curve(1) != first


@pytest.mark.parametrize("method", ["supervised", "dpo"])
def test_resume_gives_the_same_remaining_steps(make_trainer, limericks, tmp_path, method):
    training, validation = (
        (limericks[:5], limericks[5:7]) if method == "supervised" else (PAIRS[:3], PAIRS[3:])
    )
    settings = {"method": method, "n_epochs": 2, "lora_dropout": 0.1}
    uninterrupted = run_all(make_trainer(training, validation, **settings))

    first_part = make_trainer(training, validation, **settings)
    for _ in range(4):
        first_part.step()
    first_part.save_state(tmp_path / "state")
    resumed = make_trainer(training, validation, **settings)
    resumed.load_state(tmp_path / "state")

    assert resumed.completed_steps == 4
    assert run_all(resumed) == uninterrupted[4:]


def test_resume_refuses_another_run(make_trainer, limericks, tmp_path):
    trainer = make_trainer(limericks[:4])
    trainer.save_state(tmp_path / "state")

    with pytest.raises(ValueError, match="different training run"):
        make_trainer(limericks[:4], seed=1).load_state(tmp_path / "state")


def test_validation_batches_every_tenth_of_an_epoch_and_full_set_at_epoch_end(make_trainer, limericks):
    trainer = make_trainer([*limericks, *limericks], limericks[:3], batch_size=1, n_epochs=1)

    metrics = run_all(trainer)

    assert len(metrics) == 20
    assert [m.step for m in metrics if m.valid_loss is not None] == list(range(2, 21, 2))
    assert all((m.valid_loss is None) == (m.valid_mean_token_accuracy is None) for m in metrics)
    assert [m.step for m in metrics if m.full_valid_loss is not None] == [20]
    assert 0 <= metrics[-1].full_valid_mean_token_accuracy <= 1


def test_no_validation_metrics_without_validation_data(make_trainer, limericks):
    metrics = run_all(make_trainer(limericks[:4], n_epochs=2))

    assert all(
        m.valid_loss
        is m.valid_mean_token_accuracy
        is m.full_valid_loss
        is m.full_valid_mean_token_accuracy
        is None
        for m in metrics
    )


def test_dpo_starts_at_log_2_and_learns_the_preference(make_trainer):
    trainer = make_trainer(PAIRS, method="dpo", n_epochs=4, batch_size=2, learning_rate=1e-2, beta=0.5)

    metrics = run_all(trainer)

    # the adapter starts as a no-op, so policy and reference agree exactly at the first step
    assert metrics[0].train_loss == pytest.approx(math.log(2), abs=1e-6)
    assert metrics[-1].train_loss < 0.5 * metrics[0].train_loss
    assert all(0 <= m.train_mean_token_accuracy <= 1 for m in metrics)


def test_dpo_on_a_fine_tuned_model_takes_that_model_as_its_reference(make_trainer, limericks, tmp_path):
    tuned = make_trainer(limericks[:6], n_epochs=2, batch_size=2, learning_rate=1e-2)
    run_all(tuned)
    tuned.save_adapter(tmp_path / "tuned")
    trainer = make_trainer(PAIRS, method="dpo", batch_size=2, beta=0.5, init_adapter=tmp_path / "tuned")

    # the policy starts as the fine-tuned model, and so does the reference
    assert trainer.step().train_loss == pytest.approx(math.log(2), abs=1e-6)
