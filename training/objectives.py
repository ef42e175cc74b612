"""The two training objectives, measured over padding-free micro-batches: supervised (mean cross-entropy
over trained tokens) and DPO. With `backward`, each micro-batch's share of the batch loss is
back-propagated at once, so gradients accumulate to those of the whole batch however it is split."""

import contextlib
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from training.batching import PackedRow, pack_row, plan_rows
from training.device import forward_precision
from training.distributed import ONE_PROCESS, Ranks
from training.examples import PreferencePair, TokenizedSequence
from training.token_count import unit_tokens


@dataclass(frozen=True)
class Measurement:
    loss: float
    mean_token_accuracy: float
    tokens: int  # input tokens processed, no padding: the tokens trained and billed


class Objective(ABC):
    """Scores batches of units: the sequences that must share a micro-batch (one, or a preference pair)."""

    def __init__(self, units: list[tuple[TokenizedSequence, ...]], device: torch.device, max_tokens: int):
        self.units = units
        self.device = device
        self.max_tokens = max_tokens
        self.unit_tokens = [unit_tokens(unit) for unit in units]  # what each unit trains and bills

    def __len__(self) -> int:
        return len(self.units)

    def measure(
        self, model, indices: list[int], *, backward: bool, ranks: Ranks = ONE_PROCESS
    ) -> Measurement:
        """Of the batch `indices`, this rank measures its share; the sums are the whole batch's."""
        loss_denominator, accuracy_denominator = self._denominators(indices)
        tokens = sum(self.unit_tokens[i] for i in indices)
        indices = ranks.shard(indices)
        self._prepare(model, indices, ranks)
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device)
        rows = plan_rows([self.unit_tokens[i] for i in indices], self.max_tokens)
        idle = ranks.passes(len(rows)) - len(rows)
        for row_units in rows:
            members = [indices[i] for i in row_units]
            row = pack_row([sequence for i in members for sequence in self.units[i]], self.device)
            logits = loss_logits(model, row)
            row_loss, row_correct = self._score(logits, row, members)
            if backward:
                (row_loss / loss_denominator).backward()
            loss_sum += row_loss.detach()
            correct += row_correct
        self._keep_pace(model, idle, backward=backward)
        loss_sum, correct = ranks.sum(torch.stack([loss_sum, correct]))
        loss, accuracy = torch.stack([loss_sum / loss_denominator, correct / accuracy_denominator]).tolist()
        return Measurement(loss, accuracy, tokens)

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:  # noqa: B027
        pass

    def _keep_pace(self, model, passes: int, *, backward: bool) -> None:
        """Passes that change nothing, made by a rank with less work than another while sharded
        ranks gather weights together: the first unit again, its loss counted zero times."""
        for _ in range(passes):
            logits = loss_logits(model, pack_row(list(self.units[0]), self.device))
            if backward:
                (logits.sum() * 0).backward()

    def _prepare(self, model, indices: list[int], ranks: Ranks) -> None:  # noqa: B027
        pass

    @abstractmethod
    def _denominators(self, indices: list[int]) -> tuple[int, int]:
        """(the loss's denominator, the accuracy's) of the batch `indices`."""

    @abstractmethod
    def _score(self, logits: torch.Tensor, row: PackedRow, members: list[int]):
        """(summed loss, number of correctly predicted tokens that count for accuracy) of one row."""


class SupervisedObjective(Objective):
    def __init__(self, sequences: list[TokenizedSequence], device: torch.device, max_tokens: int):
        super().__init__([(sequence,) for sequence in sequences], device, max_tokens)

    def _denominators(self, indices: list[int]) -> tuple[int, int]:
        trained = sum(self.units[i][0].trained_tokens for i in indices)
        return trained, trained

    def _score(self, logits: torch.Tensor, row: PackedRow, members: list[int]):
        loss = F.cross_entropy(logits, row.targets, reduction="sum")
        return loss, (logits.argmax(-1) == row.targets).sum()


class PreferenceObjective(Objective):
    """loss = -logsigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r))), log-probs summed over the output
    tokens; the reference is the model training starts from: the same network with its new LoRA adapter
    disabled, each pair scored as it is first met, or, continuing a fine-tuned model's adapter, that
    model, every pair scored before the first step. Scores are kept (they never change). Accuracy is
    that of the chosen outputs' tokens."""

    def __init__(self, pairs: list[PreferencePair], beta: float, device: torch.device, max_tokens: int):
        super().__init__([(pair.chosen, pair.rejected) for pair in pairs], device, max_tokens)
        self.beta = beta
        self.reference = torch.full((len(pairs), 2), float("nan"), dtype=torch.float32)

    def state_dict(self) -> dict:
        return {"reference": self.reference.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.reference = state["reference"].clone()

    def score_references_now(self, model) -> None:
        """Score every pair with the model as it is now, adapter included: training continues a
        fine-tuned model's adapter, and the model it starts from is the reference."""
        self._score_references(model, list(range(len(self))), contextlib.nullcontext())

    def _prepare(self, model, indices: list[int], ranks: Ranks) -> None:
        missing = [
            i for i, known in zip(indices, ~self.reference[indices, 0].isnan(), strict=True) if not known
        ]
        if missing or ranks.sharded:
            self._score_references(model, missing, model.disable_adapter(), ranks)

    def _score_references(
        self, model, indices: list[int], adapter: AbstractContextManager, ranks: Ranks = ONE_PROCESS
    ) -> None:
        was_training = model.training
        model.eval()
        rows = plan_rows([self.unit_tokens[i] for i in indices], self.max_tokens)
        idle = ranks.passes(len(rows)) - len(rows)
        with torch.no_grad(), adapter:
            for row_units in rows:
                members = [indices[i] for i in row_units]
                row = pack_row([sequence for i in members for sequence in self.units[i]], self.device)
                self.reference[members] = sequence_log_probs(loss_logits(model, row), row).view(-1, 2).cpu()
            self._keep_pace(model, idle, backward=False)
        model.train(was_training)

    def _denominators(self, indices: list[int]) -> tuple[int, int]:
        return len(indices), sum(self.units[i][0].trained_tokens for i in indices)

    def _score(self, logits: torch.Tensor, row: PackedRow, members: list[int]):
        log_ratios = sequence_log_probs(logits, row).view(-1, 2) - self.reference[members].to(self.device)
        loss = -F.logsigmoid(self.beta * (log_ratios[:, 0] - log_ratios[:, 1])).sum()
        chosen = row.owners % 2 == 0
        return loss, ((logits.argmax(-1) == row.targets) & chosen).sum()


def loss_logits(model, row: PackedRow) -> torch.Tensor:
    """fp32 logits at the row's loss positions only, (N, vocab): the lm_head skips every other token."""
    with forward_precision(row.input_ids.device):
        output = model(
            input_ids=row.input_ids,
            position_ids=row.position_ids,
            use_cache=False,
            logits_to_keep=row.loss_positions,
            sequence_bounds=row.sequence_bounds,
        )
    return output.logits[0].float()


def sequence_log_probs(logits: torch.Tensor, row: PackedRow) -> torch.Tensor:
    """Summed log-probability of each sequence's trained tokens, (sequences,)."""
    token_log_probs = -F.cross_entropy(logits, row.targets, reduction="none")
    return torch.zeros(row.sequences, device=logits.device).index_add(0, row.owners, token_log_probs)
