"""Build a small chat model offline: random weights, a byte-level BPE tokenizer trained on the
spot, and a ChatML chat template. For the quick start and the tests; it learns a handful of
examples in seconds on a CPU and knows nothing else."""

import json
import pydoc
import random
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from gateway.catalog import LOCAL_MODEL_SIDECAR

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]

# ChatML, with no whitespace control: every newline in the output is a literal "\n" here.
# Tool definitions go into the system turn and tool calls into the assistant turn as
# JSON, so `tools`/`tool_calls` examples train and render like any other text.
CHAT_TEMPLATE = (
    "{% if tools %}<|im_start|>system\n"
    "{% if messages and messages[0].role == 'system' %}{{ messages[0].content }}\n\n{% endif %}"
    "Tools:\n{% for tool in tools %}{{ tool | tojson }}\n{% endfor %}<|im_end|>\n{% endif %}"
    "{% for message in messages %}"
    "{% if not (tools and loop.first and message.role == 'system') %}"
    "<|im_start|>{{ message.role }}\n"
    "{% if message.content %}{{ message.content }}{% endif %}"
    "{% for call in message.tool_calls or [] %}"
    "<tool_call>{{ call.function | tojson }}</tool_call>{% endfor %}"
    "<|im_end|>\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Stdlib documentation: plain English that every Python install has, so the tokenizer is the
# same on every machine without a download.
CORPUS_MODULES = ("builtins", "json", "pathlib", "collections", "itertools", "random", "string", "math")

# A base learning rate suited to this model (real models use the catalog default): with it, the
# seeds' flow with "auto" hyperparameters (10 epochs of batch 1 on the 10 Elle limericks) ends
# with every limerick reproduced exactly, whatever the job's seed. That takes six layers: with
# four, 3 seeds in 66 left one limerick slipping into another's phrasing (bench/memorisation.py).
TINY_LEARNING_RATE = 3e-3
# Random embeddings drawn with the usual std of 0.02 cap every logit near 0.02 × hidden_size, so
# no adapter could bring the loss near zero; pretrained models have no such cap.
INITIALIZER_RANGE = 0.1


MEMORY_ADDRESS = re.compile(r"0x[0-9a-f]+")


def stdlib_corpus() -> Iterator[str]:
    for name in CORPUS_MODULES:
        # Object reprs carry memory addresses; without them the text, and so the tokenizer, is
        # the same in every process.
        yield MEMORY_ADDRESS.sub("0x0", pydoc.render_doc(name, renderer=pydoc.plaintext))


def jsonl_strings(path: Path) -> Iterator[str]:
    """Every string value in a JSONL file, to add a training file's words to the vocabulary."""

    def walk(value: object) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for item in value.values():
                yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield from walk(json.loads(line))


def build_tokenizer(corpus: Iterable[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|pad|>",
        unk_token=None,
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def build_tiny_chat_model(
    dest: Path,
    *,
    extra_corpus: Iterable[str] = (),
    vocab_size: int = 2048,
    hidden_size: int = 256,
    layers: int = 6,
    heads: int = 4,
    max_positions: int = 2048,
    seed: int = 0,
) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig, Qwen2Config

    random.seed(seed)
    torch.manual_seed(seed)
    tokenizer = build_tokenizer([*stdlib_corpus(), *extra_corpus], vocab_size)
    eos_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad_id = tokenizer.convert_tokens_to_ids("<|pad|>")
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=max(1, heads // 2),
        max_position_embeddings=max_positions,
        initializer_range=INITIALIZER_RANGE,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
    )
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config = GenerationConfig(eos_token_id=eos_id, pad_token_id=pad_id)
    dest.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(dest)
    tokenizer.save_pretrained(dest)
    (dest / LOCAL_MODEL_SIDECAR).write_text(
        json.dumps({"learning_rate": TINY_LEARNING_RATE, "owned_by": "ftgate"}, indent=2) + "\n"
    )
    return dest
