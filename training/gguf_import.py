"""Turn a GGUF file into a normal Hugging Face model folder, once: transformers reads the GGUF
(with the `gguf` package) and dequantises its weights to float32, and the folder keeps the
tokenizer and its chat template. The trainer and the engine then load the folder like any other."""

import json
from pathlib import Path
from typing import Any

from gateway.catalog import LOCAL_MODEL_SIDECAR


class GgufImportError(ValueError):
    """A file that is not a GGUF model transformers can read; str() says why."""


def import_gguf(gguf_file: Path, dest: Path, sidecar: dict[str, Any] | None = None) -> Path:
    """Write the model of `gguf_file` into `dest` (safetensors, config, tokenizer, generation
    config), with `sidecar` as its ftgate.json when given. Written beside `dest` first and moved
    into place whole, so a failed import leaves no half folder that the catalog would list."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not gguf_file.is_file():
        raise GgufImportError(f"{gguf_file} is not a file")
    folder, name = str(gguf_file.parent), gguf_file.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except (ValueError, OSError, KeyError) as error:  # what transformers and gguf raise for a bad file
        raise GgufImportError(f"{gguf_file} cannot be read as a GGUF model: {error}") from error
    if tokenizer.chat_template is None:
        raise GgufImportError(f"{gguf_file} has no chat template, so its chats cannot be rendered")
    # The weights are dequantised already: the folder is a plain float32 model.
    del model.config.quantization_config
    model.hf_quantizer = None
    partial = dest.with_name(f".{dest.name}.partial")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    if sidecar is not None:
        (partial / LOCAL_MODEL_SIDECAR).write_text(json.dumps(sidecar, indent=2) + "\n")
    partial.replace(dest)
    return dest
