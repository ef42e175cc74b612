"""A LoRA adapter merged into its base model: a full model folder (safetensors) that transformers
loads alone. Imports torch; `gateway.weights.merged` imports it only when a merge is asked for."""

from pathlib import Path

from peft import PeftModel
from transformers import AutoModelForCausalLM


def merge_adapter(base: Path, adapter: Path, into: Path) -> None:
    """Runs in a worker thread, on the CPU, with the whole base model in memory in its own dtype."""
    model = AutoModelForCausalLM.from_pretrained(base, local_files_only=True, dtype="auto")
    merged = PeftModel.from_pretrained(model, adapter, is_trainable=False).merge_and_unload()
    merged.save_pretrained(into)
