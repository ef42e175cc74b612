"""How many uploads one project may have in progress in this process, so that one tenant's
slow or stalled uploads cannot take every validator, disk writer and connection from the rest."""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from gateway.errors import RateLimited


class UploadSlots:
    def __init__(self, per_project: int) -> None:
        self.per_project = per_project
        self._in_progress: Counter[str] = Counter()

    @contextmanager
    def hold(self, project_id: str) -> Iterator[None]:
        if self._in_progress[project_id] >= self.per_project:
            raise RateLimited(
                f"This project already has {self.per_project} uploads in progress; "
                "wait for one to finish and retry.",
                headers={"retry-after": "1"},
            )
        self._in_progress[project_id] += 1
        try:
            yield
        finally:
            self._in_progress[project_id] -= 1
            if not self._in_progress[project_id]:
                del self._in_progress[project_id]
