"""How a training run uses its device, decided in one place from the device, the model and the
config: the weights' dtype (bf16 on CUDA GPUs that have it, fp32 elsewhere), the attention kernel
(flash-attention 2 where installed on CUDA, else sdpa), Liger's fused kernels (only when asked for
and usable), and what keeps a step within the device's free memory: smaller micro-batches first
(gradients are the same however a batch is split), then checkpointing as few decoder layers as will
do; weights sharded among ranks (FSDP) count for their share. The CPU never checkpoints unless told
to: its memory is the machine's."""

import importlib.util
import logging
import math
from dataclasses import dataclass

import torch
from transformers import AutoModelForCausalLM

from training.attention import PACKED_SDPA
from training.device import weights_dtype

log = logging.getLogger(__name__)

# Below this many tokens a micro-batch no longer keeps a large GPU busy; checkpoint instead.
MIN_MICRO_BATCH_TOKENS = 4096
# Room kept free for the CUDA context, the allocator's fragmentation and the optimizer's buffers.
MEMORY_HEADROOM = 0.85
LIGER_KERNELS = {"rope": True, "rms_norm": True, "swiglu": True, "cross_entropy": False}


@dataclass(frozen=True)
class Recipe:
    dtype: torch.dtype
    attention: str  # transformers' attn_implementation
    liger: bool
    checkpoint_every: int  # every n-th decoder layer recomputes its activations in the backward; 0: none
    micro_batch_tokens: int

    @property
    def gradient_checkpointing(self) -> bool:
        return self.checkpoint_every > 0

    def describe(self) -> str:
        checkpointing = f"every {self.checkpoint_every} layers" if self.checkpoint_every > 1 else "all layers"
        return (
            f"{str(self.dtype).removeprefix('torch.')}, attention {self.attention}, "
            f"Liger {'on' if self.liger else 'off'}, "
            f"gradient checkpointing {checkpointing if self.gradient_checkpointing else 'off'}, "
            f"micro-batches of at most {self.micro_batch_tokens} tokens"
        )


def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def choose_recipe(
    device: torch.device,
    model_config,
    *,
    liger: bool,
    gradient_checkpointing: bool | None,
    micro_batch_tokens: int,
    weight_shards: int = 1,
) -> Recipe:
    """gradient_checkpointing None: only what a step needs to fit the GPU's free memory; True: all layers.
    `weight_shards`: the ranks that share the weights (FSDP), each holding one share."""
    dtype = weights_dtype(device)
    tokens, every = micro_batch_tokens, int(bool(gradient_checkpointing))
    if gradient_checkpointing is None and device.type == "cuda":
        free = free_memory(device)
        tokens, every = fit_in_memory(model_config, dtype, micro_batch_tokens, free, weight_shards)
    return Recipe(
        dtype=dtype,
        attention=attention_implementation(device, model_config),
        liger=liger and liger_usable(device),
        checkpoint_every=every,
        micro_batch_tokens=tokens,
    )


def attention_implementation(device: torch.device, model_config) -> str:
    """flash-attention 2 where installed (it reads packed sequences from position_ids), else packed
    sdpa; plain sdpa with the mask for sliding-window or soft-capped attention, which need one."""
    if device.type == "cuda" and installed("flash_attn"):
        return "flash_attention_2"
    if getattr(model_config, "sliding_window", None) or getattr(model_config, "attn_logit_softcapping", None):
        return "sdpa"
    return PACKED_SDPA


def liger_usable(device: torch.device) -> bool:
    if device.type != "cuda":
        log.warning("Liger kernels were asked for but run on CUDA only; training on %s without them", device)
        return False
    if not installed("liger_kernel"):
        log.warning("Liger kernels were asked for but liger_kernel is not installed; training without them")
        return False
    return True


def fit_in_memory(
    model_config, dtype: torch.dtype, micro_batch_tokens: int, free: int, weight_shards: int = 1
) -> tuple[int, int]:
    """(micro-batch tokens, checkpoint_every): no checkpointing with the largest micro-batch that fits,
    down to MIN_MICRO_BATCH_TOKENS (or the one asked for, if smaller); then that smallest micro-batch,
    checkpointing every n-th layer for the largest n that fits."""
    budget = free * MEMORY_HEADROOM - parameter_count(model_config) * dtype.itemsize / weight_shards
    floor = min(micro_batch_tokens, MIN_MICRO_BATCH_TOKENS)
    tokens = micro_batch_tokens
    while tokens > floor and activation_bytes(model_config, dtype, tokens, 0) > budget:
        tokens = max(tokens // 2, floor)
    if activation_bytes(model_config, dtype, tokens, 0) <= budget:
        return tokens, 0
    for every in range(model_config.get_text_config().num_hidden_layers, 0, -1):
        if activation_bytes(model_config, dtype, floor, every) <= budget:
            return floor, every
    log.warning("a %d-token micro-batch may not fit in %.1f GiB even with checkpointing", floor, free / 2**30)
    return floor, 1


def parameter_count(model_config) -> int:
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(model_config)
    return sum(p.numel() for p in model.parameters())


def activation_bytes(model_config, dtype: torch.dtype, tokens: int, checkpoint_every: int) -> int:
    """What the backward pass keeps of one micro-batch, per token: in each decoder layer about ten
    hidden-size tensors (norms, q/k/v, attention output, residuals) and four MLP-width ones (gate, up,
    their activation and product); of a checkpointed layer only its input, plus one layer's worth
    while it is recomputed; and the loss's logits (in dtype, then fp32 with its gradient)."""
    config = model_config.get_text_config()
    hidden, layers = config.hidden_size, config.num_hidden_layers
    per_layer = 10 * hidden + 4 * getattr(config, "intermediate_size", 4 * hidden)
    checkpointed = math.ceil(layers / checkpoint_every) if checkpoint_every else 0
    kept = checkpointed * hidden + (layers - checkpointed) * per_layer + (per_layer if checkpointed else 0)
    logits = config.vocab_size * (dtype.itemsize + 8)
    return tokens * (kept * dtype.itemsize + logits)


def free_memory(device: torch.device) -> int:
    free, _total = torch.cuda.mem_get_info(device)
    return free


def prepare_model(recipe: Recipe, model) -> None:
    """Apply the recipe's Liger kernels and checkpointing to a loaded base model (before LoRA wraps it)."""
    if recipe.liger:
        from liger_kernel.transformers import _apply_liger_kernel_to_instance

        # The loss stays ftgate's: logits only at trained positions, cross-entropy in fp32.
        _apply_liger_kernel_to_instance(model=model, fused_linear_cross_entropy=False, **LIGER_KERNELS)
    if recipe.gradient_checkpointing:
        model.activation_checkpointing_enable(every_n_layers=recipe.checkpoint_every)
