"""The choices of one request as their tokens arrive: text deltas, stop sequences, end-of-sequence
tokens, the token limit, and the finish of each. Pure Python over a `decode` callable."""

from collections.abc import Collection

from gateway.inference.generation import Emit, Finished, Sampling, TextDelta
from gateway.inference.text_stream import Decode, Detokenizer, StopMatcher


class _Choice:
    def __init__(self, decode: Decode, stops: Collection[str]) -> None:
        self.detokenizer = Detokenizer(decode)
        self.stops = StopMatcher(list(stops))
        self.tokens = 0
        self.finished = False


class Choices:
    def __init__(self, sampling: Sampling, eos_ids: Collection[int], decode: Decode, emit: Emit) -> None:
        self.max_new_tokens = sampling.max_new_tokens
        self.eos_ids = set(eos_ids)
        self.emit = emit
        self._choices = [_Choice(decode, sampling.stop) for _ in range(sampling.n)]

    def push(self, index: int, token_id: int) -> None:
        """Choice `index` generated `token_id`: emit its new text, and finish it with "stop" at
        an end-of-sequence token or a stop sequence, or with "length" at the token limit."""
        choice = self._choices[index]
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
        elif choice.tokens >= self.max_new_tokens:
            self._finish(index, "length")

    def finished(self, index: int) -> bool:
        return self._choices[index].finished

    @property
    def done(self) -> bool:
        return all(choice.finished for choice in self._choices)

    def finish_open(self) -> None:
        """The choices still open end for their length (the request ran out of time)."""
        for index, choice in enumerate(self._choices):
            if not choice.finished:
                self._finish(index, "length")

    def _finish(self, index: int, reason: str, flush: bool = True) -> None:
        choice = self._choices[index]
        choice.finished = True
        rest = choice.stops.flush() if flush else ""
        if rest:
            self.emit(TextDelta(index, rest))
        self.emit(Finished(index, reason, choice.tokens))  # type: ignore[arg-type]
