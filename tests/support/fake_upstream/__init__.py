"""A scripted, OpenAI-compatible fine-tuning upstream on a real loopback port, for tests and benchmarks."""

from .upstream import FakeUpstream

__all__ = ["FakeUpstream"]
