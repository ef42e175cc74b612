"""FSDP: the ranks of a job split the model's weights among them (FSDP2's `fully_shard`, one group
per decoder layer and one for the rest), so a model too large for one device trains on several.
Each forward gathers a layer's weights from every rank and each backward reduce-scatters its
gradients, summed as by data-parallel ranks. States and adapters are written whole: their
tensors are gathered here, and split again like the parameters when a state is loaded."""

from typing import Any

import torch
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import FSDPModule, fully_shard
from torch.distributed.tensor import DTensor, distribute_tensor


def shard(model: torch.nn.Module, layer_classes: list[str], device: torch.device, world: int) -> None:
    """Shard `model` in place over `world` ranks on `device`'s kind; `layer_classes` are the
    names of its decoder layers' classes (transformers' `_no_split_modules`)."""
    mesh = init_device_mesh(device.type, (world,))
    for module in model.modules():
        if type(module).__name__ in layer_classes:
            fully_shard(module, mesh=mesh)
    fully_shard(model, mesh=mesh)
    for module in model.modules():
        if isinstance(module, FSDPModule):
            # Each rank's loss is already divided by the whole batch's: plain sums (gloo has no AVG).
            module.set_gradient_divide_factor(1.0)
            module.set_force_sum_reduction_for_comms(True)


def gathered(value: Any) -> Any:
    """`value` (a tensor, or dicts and lists of them) with every sharded tensor gathered whole;
    a collective: every rank calls it."""
    if isinstance(value, DTensor):
        return value.full_tensor()
    if isinstance(value, dict):
        return {key: gathered(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(gathered(item) for item in value)
    return value


def like(parameter: torch.Tensor, whole: torch.Tensor) -> torch.Tensor:
    """This rank's share of `whole`, split as `parameter` is (`whole` itself if it is not sharded)."""
    if not isinstance(parameter, DTensor):
        return whole
    # Every rank holds the same whole tensor: each keeps its own share, no communication.
    return distribute_tensor(
        whole.to(parameter.device), parameter.device_mesh, parameter.placements, src_data_rank=None
    )


def optimizer_state_like(state: dict, parameters: list[torch.Tensor]) -> dict:
    """A whole optimizer state (`gathered(optimizer.state_dict())`), split like the `parameters`
    it was saved for; per-parameter scalars such as Adam's `step` stay as they are."""
    per_parameter = {
        index: {
            name: like(parameters[index], value) if is_like(value, parameters[index]) else value
            for name, value in values.items()
        }
        for index, values in state["state"].items()
    }
    return state | {"state": per_parameter}


def is_like(value: Any, parameter: torch.Tensor) -> bool:
    return isinstance(value, torch.Tensor) and value.shape == parameter.shape
