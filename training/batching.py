"""Padding-free micro-batches: the sequences of a micro-batch are concatenated into one row whose
`position_ids` restart at 0 for each sequence. Packed sdpa attends within `sequence_bounds`; with no
attention mask and no KV cache, transformers' own sdpa builds a block-diagonal causal mask from the
positions, and flash-attention reads them directly: packed sequences never attend to each other."""

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from training.examples import IGNORED, TokenizedSequence


@dataclass(frozen=True)
class PackedRow:
    input_ids: torch.Tensor  # (1, T)
    position_ids: torch.Tensor  # (1, T)
    loss_positions: torch.Tensor  # (N,) positions whose logits predict a trained token
    targets: torch.Tensor  # (N,) the trained token each of those positions predicts
    owners: torch.Tensor  # (N,) index, in the row's sequences, of the sequence each target belongs to
    sequence_bounds: list[int]  # [0, end of the first sequence, ..., T]
    tokens: int

    @property
    def sequences(self) -> int:
        return len(self.sequence_bounds) - 1


def plan_rows(unit_tokens: Sequence[int], max_tokens: int) -> list[range]:
    """Consecutive units (one sequence, or the two sequences of a preference pair) per row, up to
    max_tokens tokens a row; a unit longer than that gets a row of its own."""
    rows, start, filled = [], 0, 0
    for index, tokens in enumerate(unit_tokens):
        if index > start and filled + tokens > max_tokens:
            rows.append(range(start, index))
            start, filled = index, 0
        filled += tokens
    if start < len(unit_tokens):
        rows.append(range(start, len(unit_tokens)))
    return rows


def pack_row(sequences: Sequence[TokenizedSequence], device: torch.device | str = "cpu") -> PackedRow:
    """Labels are shifted inside each sequence, so no position predicts a token of the next sequence."""
    input_ids: list[int] = []
    position_ids: list[int] = []
    loss_positions: list[int] = []
    targets: list[int] = []
    owners: list[int] = []
    bounds = [0]
    for owner, sequence in enumerate(sequences):
        offset = len(input_ids)
        input_ids.extend(sequence.input_ids)
        bounds.append(len(input_ids))
        position_ids.extend(range(len(sequence.input_ids)))
        for position, label in enumerate(sequence.labels[1:]):
            if label != IGNORED:
                loss_positions.append(offset + position)
                targets.append(label)
                owners.append(owner)

    def tensor(values: list[int]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.long).to(device, non_blocking=True)

    return PackedRow(
        input_ids=tensor(input_ids).unsqueeze(0),
        position_ids=tensor(position_ids).unsqueeze(0),
        loss_positions=tensor(loss_positions),
        targets=tensor(targets),
        owners=tensor(owners),
        sequence_bounds=bounds,
        tokens=len(input_ids),
    )
