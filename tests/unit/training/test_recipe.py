"""The training recipe's decisions per device, installed packages and free memory (CUDA's answers
are stood in for, so no GPU is needed), and gradient checkpointing on the tiny model: same losses."""

import logging

import pytest
import torch
from transformers import LlamaConfig

from training import recipe as recipe_module
from training.attention import PACKED_SDPA
from training.recipe import activation_bytes, choose_recipe, parameter_count, prepare_model

CUDA = torch.device("cuda", 0)
CPU = torch.device("cpu")
TOKENS = 16384


@pytest.fixture
def model_config() -> LlamaConfig:
    return LlamaConfig(
        vocab_size=32000, hidden_size=512, intermediate_size=1408, num_hidden_layers=4, num_attention_heads=8
    )


@pytest.fixture
def gpu(monkeypatch: pytest.MonkeyPatch):
    """A bf16-capable GPU with `free` bytes free (80 GiB unless set), and the packages listed installed."""

    class Gpu:
        free = 80 * 2**30
        packages: set[str] = set()

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    monkeypatch.setattr(recipe_module, "free_memory", lambda device: Gpu.free)
    monkeypatch.setattr(recipe_module, "installed", lambda package: package in Gpu.packages)
    return Gpu


def choose(device, model_config, *, liger=False, gradient_checkpointing=None, weight_shards=1):
    options = {"liger": liger, "gradient_checkpointing": gradient_checkpointing, "micro_batch_tokens": TOKENS}
    return choose_recipe(device, model_config, **options, weight_shards=weight_shards)


def free_for(model_config, tokens, checkpoint_every, weight_shards=1) -> float:
    """The free memory in which a step of `tokens` just fits."""
    weights = parameter_count(model_config) * torch.bfloat16.itemsize / weight_shards
    needed = weights + activation_bytes(model_config, torch.bfloat16, tokens, checkpoint_every)
    return needed / recipe_module.MEMORY_HEADROOM + 1


def test_the_cpu_trains_in_fp32_with_packed_sdpa_and_no_checkpointing(model_config):
    recipe = choose(CPU, model_config)
    assert recipe.dtype == torch.float32
    assert recipe.attention == PACKED_SDPA
    assert not recipe.liger
    assert not recipe.gradient_checkpointing
    assert recipe.micro_batch_tokens == TOKENS


def test_a_gpu_trains_in_bf16_with_flash_attention_where_installed(gpu, model_config):
    assert choose(CUDA, model_config).attention == PACKED_SDPA
    gpu.packages = {"flash_attn"}
    recipe = choose(CUDA, model_config)
    assert recipe.dtype == torch.bfloat16
    assert recipe.attention == "flash_attention_2"


def test_sliding_window_attention_keeps_plain_sdpa(gpu, model_config):
    model_config.sliding_window = 4096
    assert choose(CUDA, model_config).attention == "sdpa"
    assert choose(CPU, model_config).attention == "sdpa"


def test_liger_only_when_asked_for_on_cuda_and_installed(gpu, model_config, caplog):
    gpu.packages = {"liger_kernel"}
    assert not choose(CUDA, model_config).liger
    assert choose(CUDA, model_config, liger=True).liger
    with caplog.at_level(logging.WARNING, logger="training.recipe"):
        assert not choose(CPU, model_config, liger=True).liger
        gpu.packages = set()
        assert not choose(CUDA, model_config, liger=True).liger
    assert "run on CUDA only" in caplog.text
    assert "liger_kernel is not installed" in caplog.text


def test_a_step_that_fits_keeps_its_micro_batch_and_no_checkpointing(gpu, model_config):
    gpu.free = free_for(model_config, TOKENS, 0)
    recipe = choose(CUDA, model_config)
    assert (recipe.micro_batch_tokens, recipe.checkpoint_every) == (TOKENS, 0)


def test_a_step_too_big_first_gets_smaller_micro_batches(gpu, model_config):
    gpu.free = free_for(model_config, TOKENS // 2, 0)
    recipe = choose(CUDA, model_config)
    assert (recipe.micro_batch_tokens, recipe.checkpoint_every) == (TOKENS // 2, 0)


def test_sharded_weights_count_for_one_share(gpu, model_config):
    gpu.free = free_for(model_config, TOKENS, 0, weight_shards=4)
    assert choose(CUDA, model_config).micro_batch_tokens < TOKENS
    recipe = choose(CUDA, model_config, weight_shards=4)
    assert (recipe.micro_batch_tokens, recipe.checkpoint_every) == (TOKENS, 0)


@pytest.fixture
def deep_config() -> LlamaConfig:
    return LlamaConfig(
        vocab_size=1000, hidden_size=256, intermediate_size=704, num_hidden_layers=32, num_attention_heads=4
    )


def test_then_checkpointing_as_few_layers_as_will_fit(gpu, deep_config):
    floor = recipe_module.MIN_MICRO_BATCH_TOKENS
    gpu.free = free_for(deep_config, floor, 4)  # 8 of the 32 layers checkpointed
    assert free_for(deep_config, floor, 0) > gpu.free
    recipe = choose(CUDA, deep_config)
    assert (recipe.micro_batch_tokens, recipe.checkpoint_every) == (floor, 4)
    assert recipe.gradient_checkpointing


def test_checkpointing_every_layer_when_nothing_fits(gpu, deep_config, caplog):
    gpu.free = 1
    with caplog.at_level(logging.WARNING, logger="training.recipe"):
        recipe = choose(CUDA, deep_config)
    assert (recipe.micro_batch_tokens, recipe.checkpoint_every) == (recipe_module.MIN_MICRO_BATCH_TOKENS, 1)
    assert "may not fit" in caplog.text


def test_an_explicit_choice_is_kept_whatever_the_memory(gpu, model_config):
    gpu.free = 1
    assert not choose(CUDA, model_config, gradient_checkpointing=False).gradient_checkpointing
    assert choose(CPU, model_config, gradient_checkpointing=True).gradient_checkpointing


def test_prepare_model_turns_checkpointing_on(tiny_model):
    from transformers import AutoModelForCausalLM

    recipe = choose(CPU, LlamaConfig(), gradient_checkpointing=True)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    prepare_model(recipe, model)
    assert model.is_activation_checkpointing


def test_checkpointing_trains_the_same_losses(make_trainer, limericks):
    plain = make_trainer(limericks[:4])
    checkpointed = make_trainer(limericks[:4], gradient_checkpointing=True)
    assert checkpointed.model.get_base_model().is_activation_checkpointing
    for _ in range(plain.total_steps):
        assert checkpointed.step().train_loss == pytest.approx(plain.step().train_loss, rel=1e-5)
