"""One base model in memory with its tokenizer and LoRA adapters: render prompts, run forward
passes over rows that each name their adapter (PEFT's mixed adapter batches).

Everything here runs in worker threads and imports torch; `gateway.inference.engine` imports this
module (and the scheduler that drives it) only when the first chat request arrives.
"""

import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import jinja2
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

from gateway.inference.adapters import AdapterSlots
from gateway.inference.generation import PromptError, PromptTooLong


def resolve_device(setting: str) -> str:
    """`auto` is the first CUDA device when there is one, else the CPU."""
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


# PEFT's name for "no adapter" in a batch of rows that each name theirs.
BASE = "__base__"


class LocalModel:
    def __init__(self, folder: Path, device: str, max_loaded_adapters: int) -> None:
        self.device = resolve_device(device)
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype=dtype)
        self.model.to(self.device).eval()
        self.eos_ids = _eos_ids(self.tokenizer, self.model.generation_config)
        self.top_k: int | None = self.model.generation_config.top_k
        self.peft: PeftModel | None = None
        self.adapters = AdapterSlots(max_loaded_adapters, self._load_adapter, self._unload_adapter)
        # A fast tokenizer shared between threads can fail with "Already borrowed".
        self._tokenizer_lock = threading.Lock()
        self.longest_token_bytes = max(len(token.encode()) for token in self.tokenizer.get_vocab())

    def render(self, messages: list[dict[str, Any]], tools: list[Any] | None, context: int) -> list[int]:
        at_least = _text_bytes([messages, tools]) // (self.longest_token_bytes * NORMALIZATION_SHRINK)
        if at_least >= context:
            raise PromptTooLong(at_least)
        with self._tokenizer_lock:
            try:
                encoded = self.tokenizer.apply_chat_template(
                    messages, tools=tools or None, add_generation_prompt=True, tokenize=True, return_dict=True
                )
            except (jinja2.TemplateError, ValueError) as error:
                raise PromptError(str(error)) from error
        return list(encoded["input_ids"])

    def decode(self, token_ids: Sequence[int]) -> str:
        with self._tokenizer_lock:
            return self.tokenizer.decode(token_ids, skip_special_tokens=True)

    def activate_adapter(self, folder: Path, in_use: Collection[str]) -> str | None:
        """The adapter's name once it is loaded; None while every slot holds one in `in_use`."""
        return self.adapters.activate(folder, in_use)

    def prefill(self, prompt: list[int], adapter: str | None) -> tuple[torch.Tensor, DynamicCache]:
        """The logits after `prompt` (1 × vocabulary) and its KV cache."""
        cache = DynamicCache()
        inputs = torch.tensor([prompt], dtype=torch.long, device=self.device)
        positions = torch.arange(len(prompt), device=self.device).unsqueeze(0)
        logits = self.forward(
            [adapter],
            input_ids=inputs,
            attention_mask=torch.ones_like(inputs),
            position_ids=positions,
            past_key_values=cache,
        )
        return logits, cache

    def forward(self, adapters: list[str | None], **inputs: Any) -> torch.Tensor:
        """The float32 logits of each row's last position, each row through its own adapter
        (None: the base model alone)."""
        with torch.inference_mode():
            if self.peft is None:
                output = self.model(**inputs, use_cache=True, logits_to_keep=1)
            else:
                names = [name or BASE for name in adapters]
                output = self.peft(**inputs, use_cache=True, logits_to_keep=1, adapter_names=names)
        return output.logits[:, -1, :].float()

    def _load_adapter(self, name: str, folder: Path) -> None:
        if self.peft is None:
            self.peft = PeftModel.from_pretrained(self.model, folder, adapter_name=name, is_trainable=False)
            self.peft.eval()
        else:
            self.peft.load_adapter(folder, adapter_name=name, is_trainable=False)
        self.peft.set_adapter(name)  # so that evicting the previous one does not warn

    def _unload_adapter(self, name: str) -> None:
        assert self.peft is not None
        self.peft.delete_adapter(name)


# No token spells more bytes than its vocabulary entry (byte-level BPE, SentencePiece's "▁" and
# byte-fallback entries all spell fewer or as many), but a tokenizer's normalizer may shrink the
# text first: NFKC and lowercasing by up to 3× (fullwidth letters, Hangul jamo, the Kelvin sign).
NORMALIZATION_SHRINK = 4


def _text_bytes(value: Any) -> int:
    """UTF-8 bytes of every string in a JSON-like value."""
    if isinstance(value, str):
        return len(value.encode(errors="surrogatepass"))
    if isinstance(value, dict):
        return sum(_text_bytes(item) for item in value.values())
    if isinstance(value, list | tuple):
        return sum(_text_bytes(item) for item in value)
    return 0


def _eos_ids(tokenizer: Any, generation_config: Any) -> list[int]:
    ids: list[int] = []
    configured = generation_config.eos_token_id
    for token_id in configured if isinstance(configured, list) else [configured]:
        if token_id is not None and token_id not in ids:
            ids.append(token_id)
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids
