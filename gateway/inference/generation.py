"""What a generation asks for and what it yields: the target model, the sampling, text deltas and
finishes, the request a scheduler runs, and the prompt refusals. The engine, the scheduler and
the local model all speak these."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class Target:
    """What to run: a base model folder, plus a LoRA adapter folder for fine-tuned models."""

    base: Path
    adapter: Path | None = None


GREEDY_BELOW = 1e-5


@dataclass(frozen=True)
class Sampling:
    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    n: int = 1
    stop: tuple[str, ...] = ()
    seed: int | None = None
    # Seconds a generation may run; then its open choices finish with "length".
    time_limit: float | None = None

    @property
    def greedy(self) -> bool:
        """Temperatures this small are greedy decoding in all but name (and would overflow)."""
        return self.temperature < GREEDY_BELOW or self.top_p == 0


@dataclass(frozen=True)
class TextDelta:
    index: int
    text: str


@dataclass(frozen=True)
class Finished:
    index: int
    reason: Literal["stop", "length"]
    completion_tokens: int


Event = TextDelta | Finished
Emit = Callable[[Event], None]


@dataclass
class Request:
    """A generation handed to a model's scheduler; setting `cancel` takes it out of the batch."""

    prompt: list[int]
    adapter: Path | None
    sampling: Sampling
    emit: Emit
    # Called once, last: with None when the request is over, else with the error that ended it.
    end: Callable[[BaseException | None], None]
    cancel: threading.Event = field(default_factory=threading.Event)


class PromptError(ValueError):
    """The model's chat template refused the messages (or the model has none)."""


class PromptTooLong(ValueError):
    """The messages cannot fit the context, known from their size before tokenizing them."""

    def __init__(self, at_least: int) -> None:
        super().__init__(f"at least {at_least} tokens")
        self.at_least = at_least
