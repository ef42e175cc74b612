"""The exact trained tokens of a file on a local model, counted as the trainer counts them
(`training.token_count`: the model's tokenizer and chat template). Loading a tokenizer and rendering
a file are CPU work: they run in a worker thread, one file at a time, and each result is kept per
(file sha256, model, method, kind), so quoting and creating a job render a file once."""

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import anyio

from gateway.catalog import BaseModelSpec
from gateway.models import StoredFile
from gateway.storage.base import BlobStore
from training.examples import ChatEncoder, TrainingDataError
from training.token_count import FileCount, count_lines, load_encoder

KEPT_RESULTS = 512


@dataclass(frozen=True)
class LocalCount:
    count: FileCount | None
    error: str | None  # why the trainer would refuse the file (names the example), or None

    @property
    def tokens_per_epoch(self) -> int:
        """0 for a file the trainer refuses: such a job fails before it trains anything."""
        return self.count.tokens_per_epoch if self.count is not None else 0


def local_count(
    spec: BaseModelSpec,
    method: str,
    lines: Iterable[bytes],
    kind: str = "training",
    encoder: ChatEncoder | None = None,
) -> LocalCount:
    """Count `lines` here and now (blocking: call it from a thread, or from the CLI)."""
    assert spec.path is not None
    try:
        encoder = encoder or load_encoder(Path(spec.path))
        return LocalCount(count_lines(encoder, method, lines, kind.capitalize()), None)
    except TrainingDataError as refused:
        return LocalCount(None, str(refused))


class LocalTokenCounter:
    def __init__(self, kept: int = KEPT_RESULTS) -> None:
        self._kept = kept
        self._results: OrderedDict[tuple[str, str, str, str], LocalCount] = OrderedDict()
        self._encoders: dict[str, ChatEncoder] = {}
        # One file at a time: a fast tokenizer shared between threads can fail ("Already borrowed").
        self._lock = threading.Lock()

    async def count(
        self, blobs: BlobStore, stored: StoredFile, spec: BaseModelSpec, method: str, kind: str = "training"
    ) -> LocalCount:
        """Raises FileNotFoundError when the blob is gone."""
        assert spec.path is not None
        key = (stored.sha256, str(spec.path), method, kind)
        found = self._results.get(key)
        if found is None:
            found = await anyio.to_thread.run_sync(
                self._count_blob, blobs, stored.blob_key, spec, method, kind
            )
            self._results[key] = found
            while len(self._results) > self._kept:
                self._results.popitem(last=False)
        self._results.move_to_end(key)
        return found

    def _count_blob(
        self, blobs: BlobStore, blob_key: str, spec: BaseModelSpec, method: str, kind: str
    ) -> LocalCount:
        with self._lock:
            folder = str(spec.path)
            if folder not in self._encoders:
                self._encoders[folder] = load_encoder(Path(folder))
            with blobs.open(blob_key) as content:
                return local_count(spec, method, content, kind, self._encoders[folder])
