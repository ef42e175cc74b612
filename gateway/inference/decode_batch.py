"""Sequences decoded together in one forward pass per token: one KV cache whose rows are padded
on the left to a common length, the mask of their real columns, and each row's next position.

Rows join after their own prefill and leave when they finish, between two steps; the columns
that no remaining row uses are dropped with them, so the cache never outgrows its longest row by
more than the rows that joined later. Imports torch, like `gateway.inference.local_model`.
"""

import torch
import torch.nn.functional as F
from transformers import DynamicCache


class DecodeBatch:
    def __init__(self, cache: DynamicCache, mask: torch.Tensor, positions: torch.Tensor) -> None:
        self.cache = cache
        self.mask = mask  # rows × columns, 1 where the cache holds one of the row's tokens
        self.positions = positions  # per row, the position of the token it is fed next

    @classmethod
    def prefilled(cls, cache: DynamicCache, prompt_length: int, rows: int) -> "DecodeBatch":
        """`rows` copies of one prompt's cache, as a request's choices start from it."""
        device = cache.layers[0].keys.device
        if rows > 1:
            cache.batch_repeat_interleave(rows)
        mask = torch.ones(rows, prompt_length, dtype=torch.long, device=device)
        positions = torch.full((rows,), prompt_length, dtype=torch.long, device=device)
        return cls(cache, mask, positions)

    def __len__(self) -> int:
        return self.mask.shape[0]

    def step_inputs(self, tokens: list[int]) -> dict[str, torch.Tensor | DynamicCache]:
        """The forward pass's arguments that feed each row its next token, and the batch moved
        one column on for it."""
        device = self.mask.device
        self.mask = torch.cat([self.mask, self.mask.new_ones(len(self), 1)], dim=1)
        positions = self.positions.unsqueeze(1)
        self.positions = self.positions + 1
        return {
            "input_ids": torch.tensor(tokens, dtype=torch.long, device=device).unsqueeze(1),
            "attention_mask": self.mask,
            "position_ids": positions,
            "past_key_values": self.cache,
        }

    def extend(self, other: "DecodeBatch") -> None:
        """Append `other`'s rows, the shorter side padded on the left."""
        columns = max(self.mask.shape[1], other.mask.shape[1])
        for mine, theirs in zip(self.cache.layers, other.cache.layers, strict=True):
            mine.keys = torch.cat([_pad_left(mine.keys, columns), _pad_left(theirs.keys, columns)])
            mine.values = torch.cat([_pad_left(mine.values, columns), _pad_left(theirs.values, columns)])
        self.mask = torch.cat([_pad_left(self.mask, columns, dim=1), _pad_left(other.mask, columns, dim=1)])
        self.positions = torch.cat([self.positions, other.positions])

    def keep(self, rows: list[int]) -> None:
        """Keep only `rows`, in that order, and drop the leading columns none of them uses."""
        index = torch.tensor(rows, dtype=torch.long, device=self.mask.device)
        mask = self.mask.index_select(0, index)
        first = int(mask.any(0).nonzero()[0])
        self.mask = mask[:, first:]
        self.positions = self.positions.index_select(0, index)
        for layer in self.cache.layers:
            layer.keys = layer.keys.index_select(0, index)[..., first:, :]
            layer.values = layer.values.index_select(0, index)[..., first:, :]


def _pad_left(tensor: torch.Tensor, columns: int, dim: int = -2) -> torch.Tensor:
    """`tensor` with zeros before its entries along `dim` up to `columns` of them."""
    missing = columns - tensor.shape[dim]
    if missing == 0:
        return tensor
    # F.pad lists (before, after) pairs from the last dimension backwards.
    pairs = [0, 0] * (tensor.dim() - 1 - dim % tensor.dim()) + [missing, 0]
    return F.pad(tensor, pairs)
