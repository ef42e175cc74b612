"""What serves the local base models and the adapters tuned from them: ftgate's own transformers
engine in-process (the default), or a vLLM or SGLang server that ftgate drives over HTTP."""
