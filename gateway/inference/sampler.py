"""The next token of each of a request's choices, from the logits of their last positions.

Imports torch; only `gateway.inference.local_model`'s side of the engine imports this module.
"""

import torch

from gateway.inference.generation import Sampling


class TokenPicker:
    """Greedy decoding, or sampling with the request's own random generator. torch's global
    generator is never touched: a trainer in the same process may be using it, and a seeded
    request must not depend on its state, nor on the requests decoded beside it.

    OpenAI samples from the whole distribution: temperature, then top_p. A top_k applies only
    when the model's own generation_config.json sets one.
    """

    def __init__(self, sampling: Sampling, top_k: int | None, device: str) -> None:
        self.greedy = sampling.greedy
        self.temperature = sampling.temperature
        self.top_p = sampling.top_p
        self.top_k = top_k or 0
        self.generator: torch.Generator | None = None
        if not self.greedy:
            self.generator = torch.Generator(device=device)
            if sampling.seed is None:
                self.generator.seed()
            else:
                self.generator.manual_seed(sampling.seed)

    def pick(self, scores: torch.Tensor) -> list[int]:
        """One token per row of `scores` (rows × vocabulary, float32)."""
        if self.greedy:
            return scores.argmax(-1).tolist()
        # Shifted so that the best is 0: a tiny temperature then sends the others to -inf
        # instead of overflowing everything.
        logits = (scores - scores.amax(-1, keepdim=True)) / self.temperature
        if 0 < self.top_k < logits.shape[-1]:
            kth = torch.topk(logits, self.top_k).values[..., -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if self.top_p < 1:
            ordered, order = torch.sort(logits, descending=True)
            probs = ordered.softmax(-1)
            beyond = probs.cumsum(-1) - probs > self.top_p  # the mass before them already suffices
            logits = logits.scatter(-1, order, ordered.masked_fill(beyond, float("-inf")))
        return torch.multinomial(logits.softmax(-1), 1, generator=self.generator).squeeze(-1).tolist()
