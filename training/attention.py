"""Attention over padding-free rows. transformers isolates packed sequences for sdpa with a (T × T)
block-diagonal mask built from position_ids: correct, but quadratic in the row length and barred
from the fused causal kernels. Packed sdpa runs one causal sdpa call per sequence instead."""

import importlib.util
from itertools import pairwise

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward

PACKED_SDPA = "ftgate_packed_sdpa"


def packed_sdpa_attention(module, query, key, value, attention_mask, *, sequence_bounds: list[int], **kwargs):
    """query, key, value: (1, heads, T, head_dim); sequence_bounds: [0, end of 1st sequence, ..., T]."""
    outputs = [
        sdpa_attention_forward(
            module, query[:, :, start:end], key[:, :, start:end], value[:, :, start:end], None, **kwargs
        )[0]
        for start, end in pairwise(sequence_bounds)
    ]
    return torch.cat(outputs, dim=1), None


AttentionInterface.register(PACKED_SDPA, packed_sdpa_attention)


def attention_implementation(device: torch.device, model_config) -> str:
    """flash-attention 2 where installed (it reads packed sequences from position_ids), else packed
    sdpa; plain sdpa with the mask for sliding-window or soft-capped attention, which need one."""
    if device.type == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    if getattr(model_config, "sliding_window", None) or getattr(model_config, "attn_logit_softcapping", None):
        return "sdpa"
    return PACKED_SDPA
