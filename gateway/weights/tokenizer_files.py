"""The files of a model folder that make its tokenizer and chat template, without its weights: an
exported adapter carries them so that it is usable with the base weights alone."""

from fnmatch import fnmatch
from pathlib import Path

PATTERNS = (
    "tokenizer*",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template*",
    "vocab.*",
    "merges.txt",
    "*.tiktoken",
    "spiece.model",
)


def tokenizer_files(model_folder: Path) -> list[Path]:
    return sorted(
        path
        for path in model_folder.iterdir()
        if path.is_file() and any(fnmatch(path.name, pattern) for pattern in PATTERNS)
    )
