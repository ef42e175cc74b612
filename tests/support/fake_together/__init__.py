"""A scripted Together AI fine-tuning upstream on a real loopback port, for tests."""

from .upstream import FakeTogether

__all__ = ["FakeTogether"]
