"""Scripted vLLM and SGLang servers on a real loopback port: their LoRA endpoints, /v1/models and
chat completions in each one's own shapes and refusals, with FakeUpstream's faults and request log."""

from .sglang import FakeSglang
from .state import FakeEngine
from .vllm import FakeVllm

__all__ = ["FakeEngine", "FakeSglang", "FakeVllm"]
