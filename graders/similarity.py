"""string_check and text_similarity: pure functions of two strings, each a score in [0, 1]."""

from collections.abc import Callable
from functools import lru_cache

import sacrebleu
from nltk.translate.gleu_score import sentence_gleu
from rapidfuzz import fuzz
from rouge_score import rouge_scorer


def string_check(operation: str, text: str, reference: str) -> float:
    """eq / ne: exact (in)equality; like / ilike: `reference` occurs in `text`, case-sensitive
    or not (plain substring, no SQL wildcards)."""
    if operation == "eq":
        passed = text == reference
    elif operation == "ne":
        passed = text != reference
    elif operation == "like":
        passed = reference in text
    elif operation == "ilike":
        passed = reference.casefold() in text.casefold()
    else:
        raise ValueError(f"unknown string_check operation {operation!r}")
    return 1.0 if passed else 0.0


def fuzzy_match(text: str, reference: str) -> float:
    """rapidfuzz `fuzz.ratio` (normalised Indel similarity) / 100."""
    return fuzz.ratio(text, reference) / 100.0


def bleu(text: str, reference: str) -> float:
    """sacrebleu `sentence_bleu` (13a tokenizer, exponential smoothing) / 100."""
    return sacrebleu.sentence_bleu(text, [reference]).score / 100.0


def gleu(text: str, reference: str) -> float:
    """nltk `sentence_gleu` over whitespace tokens (n-grams 1 to 4)."""
    hypothesis, target = text.split(), reference.split()
    if not hypothesis or not target:
        return 1.0 if hypothesis == target else 0.0
    return float(sentence_gleu([target], hypothesis))


@lru_cache(maxsize=8)
def _rouge(kind: str) -> rouge_scorer.RougeScorer:
    return rouge_scorer.RougeScorer([kind], use_stemmer=False)


def rouge(kind: str) -> Callable[[str, str], float]:
    """rouge-score's `RougeScorer([kind])` F-measure (its own tokenizer: lower case, [a-z0-9])."""

    def score(text: str, reference: str) -> float:
        return float(_rouge(kind).score(reference, text)[kind].fmeasure)

    return score


METRICS: dict[str, Callable[[str, str], float]] = {
    "fuzzy_match": fuzzy_match,
    "bleu": bleu,
    "gleu": gleu,
    "rouge_1": rouge("rouge1"),
    "rouge_2": rouge("rouge2"),
    "rouge_3": rouge("rouge3"),
    "rouge_4": rouge("rouge4"),
    "rouge_5": rouge("rouge5"),
    "rouge_l": rouge("rougeL"),
}


def text_similarity(metric: str, text: str, reference: str) -> float:
    return min(1.0, max(0.0, METRICS[metric](text, reference)))
