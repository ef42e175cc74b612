"""Azure's jobs: OpenAI's lifecycle, with Azure's model and checkpoint names, and the resource's
deployments, which Azure Resource Manager makes and chat reaches."""

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from ..fake_upstream.lifecycle import Job, Upstream, random_id


@dataclass
class Deployment:
    name: str
    body: dict[str, Any]
    created: float
    fails: bool

    def provisioning_state(self, provision_seconds: float) -> str:
        if time.monotonic() - self.created < provision_seconds:
            return "Creating"
        return "Failed" if self.fails else "Succeeded"


class AzureUpstream(Upstream):
    def reset(self) -> None:
        super().reset()
        self.deployments: dict[str, Deployment] = {}
        self.provision_seconds = 0.3
        self.failing_deployments = False
        self.keeping_metadata = True

    def create_job(self, body: dict[str, Any]) -> Job:
        """A job, which keeps no metadata while not `keeping_metadata` (once its script is read)."""
        job = super().create_job(body)
        if not self.keeping_metadata:
            job.data["metadata"] = None
        return job

    def ready(self, name: str) -> bool:
        deployment = self.deployments.get(name)
        return deployment is not None and deployment.provisioning_state(self.provision_seconds) == "Succeeded"

    def _model_name(self, job: Job) -> str:
        return f"{job.data['model']}.ft-{hashlib.md5(job.id.encode()).hexdigest()}"

    def _add_checkpoint(self, job: Job, name: str) -> None:
        super()._add_checkpoint(job, name)
        job.checkpoints[-1]["id"] = random_id("ftchkpt-", 32).lower()
