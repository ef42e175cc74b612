"""Attention over padding-free rows. transformers isolates packed sequences for sdpa with a (T × T)
block-diagonal mask built from position_ids: correct, but quadratic in the row length and barred
from the fused causal kernels. Packed sdpa runs one causal sdpa call per sequence instead."""

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
