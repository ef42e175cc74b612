"""A scripted Fireworks AI fine-tuning upstream on a real loopback port, for tests."""

from .upstream import FakeFireworks

__all__ = ["FakeFireworks"]
