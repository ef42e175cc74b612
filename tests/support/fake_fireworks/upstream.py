"""FakeFireworks: the scripted Fireworks AI upstream on a real loopback port, its state open to
the tests. It serves like FakeUpstream (same server, faults and request log), with Fireworks'
API: its base URL is `http://127.0.0.1:{port}/v1`, chat at `/inference/v1`."""

import copy
from typing import Any

from tests.support.fake_upstream import FakeUpstream

from .api import FireworksApi
from .lifecycle import ACCOUNT, Fireworks, Script


class FakeFireworks(FakeUpstream):
    def __init__(
        self,
        api_key: str = "fw-test-key",
        *,
        account: str = ACCOUNT,
        step_seconds: float = 0.02,
        phase_seconds: float = 0.05,
    ) -> None:
        super().__init__(api_key)
        self.account = account
        self._upstream = Fireworks(step_seconds=step_seconds, phase_seconds=phase_seconds)  # type: ignore[assignment]
        self._api = FireworksApi(self._upstream, api_key, account)  # type: ignore[assignment]

    @property
    def fireworks(self) -> Fireworks:
        return self._upstream  # type: ignore[return-value]

    def script_next_job(self, **script: Any) -> None:
        """How the next job created goes (see `lifecycle.Script`)."""
        self._call(self.fireworks.scripts.append, Script(**script))

    def script_estimates(self, *, price_per_1m: float) -> None:
        """The jobs created from now on carry an estimatedCost at `price_per_1m` USD per 1M tokens."""
        self._call(setattr, self.fireworks, "price_per_1m", price_per_1m)

    def refuse_next_dataset(self, words: str) -> None:
        """The next `validateUpload` is refused (400 INVALID_ARGUMENT) with `words`."""
        self._call(self.fireworks.dataset_refusals.append, words)

    def job(self, job_id: str) -> dict[str, Any]:
        """The job object plus `request` (the create body as it came) and `metrics`. KeyError for
        an id never created."""
        return self._call(lambda: copy.deepcopy(_state(self.fireworks.jobs[job_id])))

    def jobs(self) -> list[dict[str, Any]]:
        return self._call(lambda: copy.deepcopy([_state(job) for job in self.fireworks.jobs.values()]))

    def datasets(self) -> dict[str, dict[str, Any]]:
        return self._call(
            lambda: {key: copy.deepcopy(item.data) for key, item in self.fireworks.files.items()}
        )

    def dataset_content(self, dataset_id: str) -> bytes:
        return self._call(lambda: self.fireworks.files[dataset_id].content)

    @property
    def chats(self) -> list[str]:
        """The models that chats asked for, in order."""
        return self._call(lambda: list(self.fireworks.chats))

    def _state(self) -> dict[str, Any]:
        return {
            "requests": self._requests,
            "jobs_created": self.fireworks.jobs_created,
            "files_uploaded": self.fireworks.files_uploaded,
            "jobs": [_state(job) for job in self.fireworks.jobs.values()],
        }


def _state(job: Any) -> dict[str, Any]:
    return job.data | {"id": job.id, "request": job.request, "metrics": job.metrics}
