"""Token ids in, text deltas out: incremental detokenization and stop sequences.

Pure Python over a `decode` callable, so the rules are testable without a model.
"""

from collections.abc import Callable, Sequence

Decode = Callable[[Sequence[int]], str]
REPLACEMENT = "\ufffd"


class Detokenizer:
    """Turns a growing list of token ids into text deltas.

    Decodes a short window rather than the whole answer each step (the text of a token can
    depend on its neighbours), and holds back a delta that ends in an incomplete UTF-8
    character until the next token completes it.
    """

    def __init__(self, decode: Decode) -> None:
        self._decode = decode
        self._ids: list[int] = []
        self._prefix_offset = 0
        self._read_offset = 0

    def push(self, token_id: int) -> str:
        self._ids.append(token_id)
        before = self._decode(self._ids[self._prefix_offset : self._read_offset])
        after = self._decode(self._ids[self._prefix_offset :])
        if len(after) <= len(before) or after.endswith(REPLACEMENT):
            return ""
        self._prefix_offset = self._read_offset
        self._read_offset = len(self._ids)
        return after[len(before) :]


class StopMatcher:
    """Finds the first stop sequence in streamed text; the text before it is the answer.

    Text that could still turn into a stop sequence is held back until the next delta says
    whether it does; `flush` releases it when generation ends for another reason.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [stop for stop in stops if stop]
        self._pending = ""
        self.stopped = False

    def feed(self, delta: str) -> str:
        """The text that is safe to emit now; sets `stopped` when a stop sequence appeared."""
        if self.stopped:
            return ""
        text = self._pending + delta
        found = [index for index in (text.find(stop) for stop in self._stops) if index >= 0]
        if found:
            self.stopped = True
            self._pending = ""
            return text[: min(found)]
        keep = self._held_back(text)
        self._pending = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return text

    def _held_back(self, text: str) -> int:
        """Length of the longest end of `text` that begins some stop sequence."""
        longest = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(text)), longest, -1):
                if text.endswith(stop[:size]):
                    longest = size
                    break
        return longest
