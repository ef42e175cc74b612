"""A scripted Azure OpenAI upstream (its v1 fine-tuning API and Azure Resource Manager's model
deployments) on real loopback ports, for tests."""

from .upstream import FakeAzure

__all__ = ["FakeAzure"]
