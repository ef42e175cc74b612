"""Training one job in several processes, data-parallel: every rank trains on its share of each
batch, and the ranks sum their gradients and loss sums before each update, so every rank takes the
update the whole batch gives in one process. Every rank holds the whole model (DDP), or a share of
its weights (FSDP, training/sharding.py). gloo on the CPU, NCCL (with gloo for Python objects) on
CUDA."""

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

# A rank waits this long for the others in a collective; torchrun stops the survivors of a lost
# rank well before.
COLLECTIVE_TIMEOUT = timedelta(minutes=30)


@dataclass(frozen=True)
class Ranks:
    rank: int
    world: int
    sharded: bool = False  # FSDP: each rank holds a share of the weights

    @property
    def leads(self) -> bool:
        """Rank 0 talks to the job runner and writes states and adapters."""
        return self.rank == 0

    @property
    def gathers_writes(self) -> bool:
        """Whether this rank takes part in what rank 0 writes: sharded, each holds a share of it."""
        return self.leads or self.sharded

    def shard(self, indices: list[int]) -> list[int]:
        return indices[self.rank :: self.world]

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        if self.world > 1:
            dist.all_reduce(values)
        return values

    def sum_gradients(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        """One all-reduce of every gradient, flattened; a rank whose share was empty adds zeros.
        Sharded, each backward has summed them already."""
        if self.world == 1 or self.sharded:
            return
        parameters = list(parameters)
        flat = torch.cat(
            [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in parameters]
        )
        dist.all_reduce(flat)
        for parameter, gradient in zip(parameters, flat.split([p.numel() for p in parameters]), strict=True):
            parameter.grad = gradient.view_as(parameter)

    def passes(self, count: int) -> int:
        """How many forward passes this rank makes when its own work takes `count`: sharded, every
        pass gathers weights from all ranks, so each makes as many as the busiest. A collective:
        asked before the passes, which must not begin until every rank knows their number."""
        if not self.sharded:
            return count
        most = torch.tensor(count)
        dist.all_reduce(most, dist.ReduceOp.MAX)
        return int(most)

    def broadcast(self, value: Any = None) -> Any:
        """Rank 0's `value`, on every rank."""
        if self.world == 1:
            return value
        carried = [value]
        dist.broadcast_object_list(carried, src=0)
        return carried[0]

    def gather(self, value: Any) -> list[Any]:
        """Every rank's `value`, in rank order, on every rank."""
        if self.world == 1:
            return [value]
        gathered: list[Any] = [None] * self.world
        dist.all_gather_object(gathered, value)
        return gathered


ONE_PROCESS = Ranks(0, 1)


def join(device: torch.device, sharded: bool) -> Ranks:
    """Join the process group torchrun described in the environment; `device` is this rank's."""
    if device.type == "cuda":
        torch.cuda.set_device(device)
        backend = "cpu:gloo,cuda:nccl"
    else:
        backend = "gloo"
    dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT)
    return Ranks(dist.get_rank(), dist.get_world_size(), sharded)


def local_rank() -> int:
    """This process's index on its machine, as torchrun sets it."""
    return int(os.environ["LOCAL_RANK"])


def leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
