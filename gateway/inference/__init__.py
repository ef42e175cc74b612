"""Local inference: base models and their LoRA adapters loaded in memory, generation in threads."""
