"""Where training runs and in which precision: bf16 autocast over bf16 weights on CUDA GPUs that
have bf16 (Ampere and newer), fp32 elsewhere."""

from contextlib import AbstractContextManager, nullcontext

import torch


def resolve_device(name: str) -> torch.device:
    """`auto` is the current CUDA device when there is one, else the CPU; `cuda` gets its index."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r} was asked for, but CUDA is not available")
        index = torch.cuda.current_device() if device.index is None else device.index
        return torch.device("cuda", index)
    return device


def uses_bf16(device: torch.device) -> bool:
    return device.type == "cuda" and torch.cuda.is_bf16_supported()


def weights_dtype(device: torch.device) -> torch.dtype:
    return torch.bfloat16 if uses_bf16(device) else torch.float32


def forward_precision(device: torch.device) -> AbstractContextManager:
    if uses_bf16(device):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def allow_fast_matmul(device: torch.device) -> None:
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
