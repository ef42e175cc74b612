"""/v1/chat/completions served by ftgate itself: local base models and their LoRA adapters."""
