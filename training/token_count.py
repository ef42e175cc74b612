"""How many tokens a job trains, and is billed for: every token of each example as the model's own
tokenizer and chat template render it (prompt included, cut at the trainer's maximum length; the
`weight` of a message decides only where the loss is taken), both sequences of a preference pair,
once per epoch. The trainer's `trained_tokens` and its per-step counts, and every quote and
reservation for a local model, are computed here."""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from training.examples import ChatEncoder, PreferencePair, TokenizedSequence, TrainingDataError

MAX_DEFAULT_LENGTH = 8192

Unit = tuple[TokenizedSequence, ...]  # the sequences trained together: one, or a preference pair


def max_length(model_dir: Path, configured: int | None = None) -> int:
    """The trainer's cut: `configured`, else the model's max_position_embeddings, at most 8192."""
    if configured:
        return configured
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model_dir)
    return min(getattr(config, "max_position_embeddings", None) or MAX_DEFAULT_LENGTH, MAX_DEFAULT_LENGTH)


def load_encoder(model_dir: Path, configured_max_length: int | None = None) -> ChatEncoder:
    from transformers import AutoTokenizer

    return ChatEncoder(AutoTokenizer.from_pretrained(model_dir), max_length(model_dir, configured_max_length))


def encode(encoder: ChatEncoder, method: str, examples: Sequence[dict], name: str) -> list[Unit]:
    """Each example's unit; a TrainingDataError names the first unusable one ("{name} example on
    line N")."""
    places = [f"{name} example on line {line}" for line in range(1, len(examples) + 1)]
    if method == "dpo":
        pairs: list[PreferencePair] = [
            encoder.preference(example, where) for example, where in zip(examples, places, strict=True)
        ]
        return [(pair.chosen, pair.rejected) for pair in pairs]
    return [(encoder.supervised(example, where),) for example, where in zip(examples, places, strict=True)]


def unit_tokens(unit: Unit) -> int:
    """The trained (and billed) tokens of one example, once."""
    return sum(len(sequence.input_ids) for sequence in unit)


@dataclass(frozen=True)
class FileCount:
    n_examples: int
    tokens_per_epoch: int  # what one epoch trains and bills
    total_tokens: int  # before the cut at `max_length`
    n_over_limit: int  # examples cut
    max_length: int


def count_units(units: Sequence[Unit], max_length: int) -> FileCount:
    cut = [sum(sequence.cut_tokens for sequence in unit) for unit in units]
    per_epoch = sum(unit_tokens(unit) for unit in units)
    return FileCount(
        n_examples=len(units),
        tokens_per_epoch=per_epoch,
        total_tokens=per_epoch + sum(cut),
        n_over_limit=sum(1 for tokens in cut if tokens),
        max_length=max_length,
    )


def count_lines(
    encoder: ChatEncoder, method: str, lines: Iterable[bytes | str], name: str = "Training"
) -> FileCount:
    """Count a JSONL file's examples as the trainer will train them."""
    examples = []
    for number, line in enumerate((line for line in lines if line.strip()), start=1):
        try:
            example = json.loads(line)
        except ValueError:
            raise TrainingDataError(f"{name} example on line {number} is not valid JSON.") from None
        if not isinstance(example, dict):
            raise TrainingDataError(f"{name} example on line {number} is not a JSON object.")
        examples.append(example)
    if not examples:
        raise TrainingDataError(f"The {name.lower()} file has no examples.")
    return count_units(encode(encoder, method, examples, name), encoder.max_length)
