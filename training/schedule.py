"""The learning-rate schedule: a short linear warmup, then linear decay."""

import torch
from torch.optim.lr_scheduler import LambdaLR


def warmup_steps(total_steps: int) -> int:
    """10 % of the steps, at most 10."""
    return min(10, total_steps // 10)


def linear_schedule(optimizer: torch.optim.Optimizer, total_steps: int) -> LambdaLR:
    """Warmup rises to the peak over warmup_steps(total_steps) steps, then the rate falls linearly, to
    reach zero one step after the last; no step runs at rate zero."""
    warmup = warmup_steps(total_steps)

    def multiplier(completed_steps: int) -> float:
        if completed_steps < warmup:
            return (completed_steps + 1) / (warmup + 1)
        return max(0.0, (total_steps - completed_steps) / (total_steps - warmup))

    return LambdaLR(optimizer, multiplier)
