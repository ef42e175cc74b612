"""One base model in memory with its tokenizer and LoRA adapters: render prompts, generate.

Everything here runs in worker threads and imports torch; `gateway.inference.engine` imports this
module only when the first chat request arrives.
"""

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jinja2
import torch
from peft import PeftModel
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LogitsProcessor,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
)

from gateway.inference.adapters import AdapterSlots
from gateway.inference.generation import Emit, Finished, PromptError, PromptTooLong, Sampling, TextDelta
from gateway.inference.text_stream import Detokenizer, StopMatcher


def resolve_device(setting: str) -> str:
    """`auto` is the first CUDA device when there is one, else the CPU."""
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


class LocalModel:
    def __init__(self, folder: Path, device: str, max_loaded_adapters: int) -> None:
        self.device = resolve_device(device)
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype=dtype)
        self.model.to(self.device).eval()
        self.eos_ids = _eos_ids(self.tokenizer, self.model.generation_config)
        pads = (self.model.generation_config.pad_token_id, self.tokenizer.pad_token_id, *self.eos_ids)
        self.pad_id = next((token_id for token_id in pads if token_id is not None), 0)
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

    def generate(
        self,
        prompt: list[int],
        adapter: Path | None,
        sampling: Sampling,
        emit: Emit,
        cancel: threading.Event,
    ) -> None:
        """Generate `sampling.n` choices as one batch, emitting their text as it comes."""
        deadline = None if sampling.time_limit is None else time.monotonic() + sampling.time_limit
        progress = _Progress(self, sampling, emit, cancel, deadline)
        inputs = torch.tensor([prompt] * sampling.n, dtype=torch.long, device=self.device)
        processors = [] if sampling.greedy else [_Sampler(sampling, self.model.generation_config.top_k)]
        with self._using(adapter) as model, torch.inference_mode():
            model.generate(
                input_ids=inputs,
                attention_mask=torch.ones_like(inputs),
                max_new_tokens=sampling.max_new_tokens,
                stopping_criteria=StoppingCriteriaList([progress]),
                logits_processor=LogitsProcessorList(processors),
                eos_token_id=self.eos_ids,
                pad_token_id=self.pad_id,
                # Decoding is greedy over what _Sampler leaves: one token per row.
                do_sample=False,
                temperature=None,
                top_p=None,
                top_k=None,
            )
        progress.finish_open()

    @contextmanager
    def _using(self, adapter: Path | None) -> Iterator[Any]:
        if adapter is not None:
            name = self.adapters.activate(adapter)
            assert self.peft is not None
            self.peft.set_adapter(name)
            yield self.peft
        elif self.peft is not None:
            with self.peft.disable_adapter():
                yield self.peft
        else:
            yield self.model

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


class _Sampler(LogitsProcessor):
    """Draws each next token with the request's own random generator, then leaves only that
    token for greedy decoding to pick. torch's global generator is never touched: a trainer in
    the same process may be using it, and a seeded request must not depend on its state.

    OpenAI samples from the whole distribution: temperature, then top_p. A top_k applies only
    when the model's own generation_config.json sets one.
    """

    def __init__(self, sampling: Sampling, top_k: int | None) -> None:
        self.temperature = sampling.temperature
        self.top_p = sampling.top_p
        self.top_k = top_k or 0
        self.seed = sampling.seed
        self.generator: torch.Generator | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.generator is None:
            self.generator = torch.Generator(device=scores.device)
            if self.seed is None:
                self.generator.seed()
            else:
                self.generator.manual_seed(self.seed)
        logits = scores.float()
        # Shifted so that the best is 0: a tiny temperature then sends the others to -inf
        # instead of overflowing everything.
        logits = (logits - logits.amax(-1, keepdim=True)) / self.temperature
        if 0 < self.top_k < logits.shape[-1]:
            kth = torch.topk(logits, self.top_k).values[..., -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if self.top_p < 1:
            ordered, order = torch.sort(logits, descending=True)
            probs = ordered.softmax(-1)
            beyond = probs.cumsum(-1) - probs > self.top_p  # the mass before them already suffices
            logits = logits.scatter(-1, order, ordered.masked_fill(beyond, float("-inf")))
        drawn = torch.multinomial(logits.softmax(-1), 1, generator=self.generator)
        return torch.full_like(scores, float("-inf")).scatter(-1, drawn, 0.0)


class _Choice:
    """One choice being generated: its text so far, its stop sequences, its token count."""

    def __init__(self, model: LocalModel, sampling: Sampling) -> None:
        self.detokenizer = Detokenizer(model.decode)
        self.stops = StopMatcher(sampling.stop)
        self.tokens = 0
        self.finished = False


class _Progress(StoppingCriteria):
    """Called by `generate` after every step with the new tokens: emits each choice's text,
    and stops a choice at an end-of-sequence token or a stop sequence (or all on cancel, and
    all with "length" past the deadline)."""

    def __init__(
        self,
        model: LocalModel,
        sampling: Sampling,
        emit: Emit,
        cancel: threading.Event,
        deadline: float | None,
    ) -> None:
        self.eos_ids = set(model.eos_ids)
        self.emit = emit
        self.cancel = cancel
        self.deadline = deadline
        self.choices = [_Choice(model, sampling) for _ in range(sampling.n)]

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        for index, token_id in enumerate(input_ids[:, -1].tolist()):
            self._step(index, token_id)
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.finish_open()
        done = [choice.finished or self.cancel.is_set() for choice in self.choices]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    def _step(self, index: int, token_id: int) -> None:
        choice = self.choices[index]
        if choice.finished:
            return
        choice.tokens += 1
        if token_id in self.eos_ids:
            self._finish(index, "stop")
            return
        text = choice.stops.feed(choice.detokenizer.push(token_id))
        if text:
            self.emit(TextDelta(index, text))
        if choice.stops.stopped:
            self._finish(index, "stop", flush=False)

    def _finish(self, index: int, reason: str, flush: bool = True) -> None:
        choice = self.choices[index]
        choice.finished = True
        rest = choice.stops.flush() if flush else ""
        if rest:
            self.emit(TextDelta(index, rest))
        self.emit(Finished(index, reason, choice.tokens))  # type: ignore[arg-type]

    def finish_open(self) -> None:
        """Choices still open when `generate` returned, or at the deadline, end for their length."""
        if self.cancel.is_set():
            return
        for index, choice in enumerate(self.choices):
            if not choice.finished:
                self._finish(index, "length")
