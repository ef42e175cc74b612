"""FakeFireworks: the scripted Fireworks AI upstream on a real loopback port, its state open to
the tests. It serves like FakeUpstream (same server, faults and request log), with Fireworks'
API: its base URL is `http://127.0.0.1:{port}/v1`, chat at `/inference/v1`."""

import copy
from typing import Any

from tests.support.fake_upstream.scripted import ScriptedFake

from .api import FireworksApi
from .lifecycle import ACCOUNT, Fireworks, Job, Script


class FakeFireworks(ScriptedFake):
    _upstream: Fireworks

    def __init__(
        self,
        api_key: str = "fw-test-key",
        *,
        account: str = ACCOUNT,
        step_seconds: float = 0.02,
        phase_seconds: float = 0.05,
    ) -> None:
        fireworks = Fireworks(step_seconds=step_seconds, phase_seconds=phase_seconds)
        super().__init__(api_key, fireworks, FireworksApi(fireworks, api_key, account))
        self.account = account

    @property
    def fireworks(self) -> Fireworks:
        return self._upstream

    def script_next_job(self, **script: Any) -> None:
        """How the next job created goes (see `lifecycle.Script`)."""
        self._call(self.fireworks.scripts.append, Script(**script))

    def script_estimates(self, *, price_per_1m: float) -> None:
        """The jobs created from now on carry an estimatedCost at `price_per_1m` USD per 1M tokens."""
        self._call(setattr, self.fireworks, "price_per_1m", price_per_1m)

    def refuse_next_dataset(self, words: str) -> None:
        """The next `validateUpload` is refused (400 INVALID_ARGUMENT) with `words`."""
        self._call(self.fireworks.dataset_refusals.append, words)

    def datasets(self) -> dict[str, dict[str, Any]]:
        return self._call(
            lambda: {key: copy.deepcopy(item.data) for key, item in self.fireworks.files.items()}
        )

    def dataset_content(self, dataset_id: str) -> bytes:
        return self._call(lambda: self.fireworks.files[dataset_id].content)

    def _job_state(self, job: Job) -> dict[str, Any]:
        """The job object plus its `id`, `request` (the create body as it came) and `metrics`."""
        return job.data | {"id": job.id, "request": job.request, "metrics": job.metrics}
