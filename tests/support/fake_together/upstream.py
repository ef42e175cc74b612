"""FakeTogether: the scripted Together AI upstream on a real loopback port, its state open to the
tests. It serves like FakeUpstream (same server, faults and request log), with Together's API."""

import copy
from typing import Any

from tests.support.fake_upstream.scripted import ScriptedFake

from .api import TogetherApi
from .lifecycle import Job, Script, Together


class FakeTogether(ScriptedFake):
    _upstream: Together

    def __init__(
        self, api_key: str = "together-test-key", *, step_seconds: float = 0.02, phase_seconds: float = 0.05
    ) -> None:
        together = Together(step_seconds=step_seconds, phase_seconds=phase_seconds)
        super().__init__(api_key, together, TogetherApi(together, api_key))

    @property
    def together(self) -> Together:
        return self._upstream

    def script_next_job(
        self,
        *,
        step_seconds: float | None = None,
        error: str | None = None,
        restarts: bool = False,
    ) -> None:
        """The next job created trains at `step_seconds` a step, and, when given, fails at step 2
        with `error`, or stays running after it (`restarts`) until `restart`, then queued until
        `end_restart`."""
        self._call(self.together.scripts.append, Script(step_seconds, error, restarts))

    def restart(self, job_id: str) -> None:
        """The running job goes back to the queue, as after a node failure."""
        self._call(self.together.restart, job_id)

    def end_restart(self, job_id: str) -> None:
        """The restarted job leaves the queue and trains on."""
        self._call(self.together.end_restart, job_id)

    def script_estimates(self, *, price_per_1m: float, refuse: int = 0) -> None:
        """Price estimates from now on charge `price_per_1m` USD per 1M tokens, and the next
        `refuse` of them answer allowed_to_proceed false."""

        def script() -> None:
            self.together.price_per_1m = price_per_1m
            self.together.refuse_estimates = refuse

        self._call(script)

    @property
    def estimates(self) -> list[dict[str, Any]]:
        """The price estimates given, in order."""
        return self._call(lambda: copy.deepcopy(self.together.estimates))

    def serve_adapter(self, archive: bytes | None) -> None:
        """Every completed job's adapter downloads as `archive` (None: there is none)."""
        self._call(setattr, self.together, "adapter_archive", archive)

    @property
    def downloads(self) -> int:
        """How many adapter archives were sent."""
        return self._call(lambda: self.together.downloads)

    def _job_state(self, job: Job) -> dict[str, Any]:
        """The job object plus `request` (the create body as it came), `events`, `checkpoints`
        and `metrics`."""
        return job.data | {
            "request": job.request,
            "events": job.events,
            "checkpoints": job.checkpoints,
            "metrics": job.metrics,
        }
