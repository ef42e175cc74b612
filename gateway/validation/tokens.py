"""Exact, offline token counts for training examples.

Counting uses `toktok` (tiktoken's vocabularies compiled in, identical counts, ~200 MB/s) with
one thread: callers batch the texts of many examples into one call.

Per example, following the OpenAI cookbook's formula, extended for tools:

    chat        = Σ_messages framing(message) + Σ counted texts + REPLY_PRIMING_TOKENS
    framing     = TOKENS_PER_MESSAGE + tokens(role) [+ TOKENS_PER_NAME when `name` is set]
    texts       = content (a string, or the `text` of each text part), name,
                  each tool_calls[].function.name and .arguments, function_call.name and
                  .arguments, and the canonical JSON (compact, keys sorted, UTF-8) of the
                  example's `tools` and of its `functions`
    preference  = chat over input.messages + preferred_output, with input.tools
    prompt_completion = tokens(prompt) + tokens(completion)
    tokens(text)      = len(tiktoken.get_encoding(encoding).encode_ordinary(text))

`ExampleTokenTally` batches the texts of many examples into one count call and keeps only
the totals: Σ tokens, Σ min(tokens, token_limit) (billable), the largest example, how many
examples exceed the limit, and Σ trained-assistant tokens. `encoding_for_model` maps model
names to the encodings countable here, with tiktoken's rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate

import toktok

COUNTABLE_ENCODINGS = ("o200k_base", "cl100k_base", "o200k_harmony")
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3

_ENCODING_BY_MODEL = {
    "o1": "o200k_base",
    "o3": "o200k_base",
    "o4-mini": "o200k_base",
    "gpt-5": "o200k_base",
    "gpt-4.1": "o200k_base",
    "gpt-4o": "o200k_base",
    "gpt-4": "cl100k_base",
    "gpt-3.5-turbo": "cl100k_base",
    "gpt-3.5": "cl100k_base",
    "gpt-35-turbo": "cl100k_base",
    "davinci-002": "cl100k_base",
    "babbage-002": "cl100k_base",
    "text-embedding-ada-002": "cl100k_base",
    "text-embedding-3-small": "cl100k_base",
    "text-embedding-3-large": "cl100k_base",
}

_ENCODING_BY_MODEL_PREFIX = {
    "o1-": "o200k_base",
    "o3-": "o200k_base",
    "o4-mini-": "o200k_base",
    "gpt-5": "o200k_base",
    "gpt-4.5-": "o200k_base",
    "gpt-4.1-": "o200k_base",
    "chatgpt-4o-": "o200k_base",
    "gpt-4o-": "o200k_base",
    "gpt-4-": "cl100k_base",
    "gpt-3.5-turbo-": "cl100k_base",
    "gpt-35-turbo-": "cl100k_base",
    "gpt-oss-": "o200k_harmony",
}


def encoding_for_model(model: str) -> str | None:
    """The encoding of `model`, or None when it is unknown or has no encoding countable here.

    A fine-tuned name `ft:{base}:...` resolves through its base model (tiktoken's own prefix
    table would map `ft:gpt-4.1-...` to cl100k_base).
    """
    if model.startswith("ft:"):
        model = model[3:].split(":", 1)[0]
    if model in _ENCODING_BY_MODEL:
        return _ENCODING_BY_MODEL[model]
    for prefix, encoding in _ENCODING_BY_MODEL_PREFIX.items():
        if model.startswith(prefix):
            return encoding
    return None


class TokenCounter:
    """Counts tokens of many texts at once with one named encoding."""

    def __init__(self, encoding: str) -> None:
        if encoding not in COUNTABLE_ENCODINGS:
            raise ValueError(f"unknown encoding {encoding!r}; expected one of {COUNTABLE_ENCODINGS}")
        self.encoding = encoding

    def count(self, texts: Sequence[str]) -> list[int]:
        return toktok.batch_count(texts, self.encoding, threads=1)

    def message_framing(self, roles: Sequence[str]) -> dict[str, int]:
        """Each role's cost per message besides its texts: TOKENS_PER_MESSAGE + tokens(role)."""
        return {role: TOKENS_PER_MESSAGE + n for role, n in zip(roles, self.count(roles), strict=True)}


class ExampleTokenTally:
    """Token totals over examples, counted in batches of about `batch_chars` characters."""

    def __init__(self, counter: TokenCounter, token_limit: int, batch_chars: int = 1 << 21) -> None:
        self._counter = counter
        self._token_limit = token_limit
        self._batch_chars = batch_chars
        self._texts: list[str] = []
        self._layout: list[tuple[int, int, int]] = []
        self._chars = 0
        self.total_tokens = 0
        self.billable_tokens = 0
        self.max_example_tokens = 0
        self.n_over_limit = 0
        self.assistant_tokens = 0

    def add(self, framing_tokens: int, context_texts: list[str], trained_texts: list[str]) -> None:
        """Queue one example; `trained_texts` are those of the assistant turns it trains on."""
        self._texts += context_texts
        self._texts += trained_texts
        self._layout.append((framing_tokens, len(context_texts), len(trained_texts)))
        self._chars += sum(map(len, context_texts)) + sum(map(len, trained_texts))
        if self._chars >= self._batch_chars:
            self.flush()

    def flush(self) -> None:
        offsets = list(accumulate(self._counter.count(self._texts), initial=0))
        limit = self._token_limit
        start = 0
        for framing_tokens, n_context, n_trained in self._layout:
            middle = start + n_context
            end = middle + n_trained
            tokens = framing_tokens + offsets[end] - offsets[start]
            self.total_tokens += tokens
            self.assistant_tokens += offsets[end] - offsets[middle]
            if tokens > limit:
                self.n_over_limit += 1
                self.billable_tokens += limit
            else:
                self.billable_tokens += tokens
            if tokens > self.max_example_tokens:
                self.max_example_tokens = tokens
            start = end
        self._texts = []
        self._layout = []
        self._chars = 0
