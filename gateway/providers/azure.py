"""The `azure` provider: Azure OpenAI's v1 fine-tuning API (`https://RES.openai.azure.com/openai/v1`),
OpenAI's shapes with the key in an `api-key` header, behind the same Provider interface.

Where Azure differs from OpenAI:
- A job waiting for its turn says `pending` (or `created`): ftgate shows it queued.
- Azure may keep no metadata on a job, so a create whose answer was lost is found by its marker
  where Azure kept it, else by what was sent: the jobs Azure lists with the create's model,
  files and seed (ftgate gives every job its own seed), made no earlier than the send (less
  `CLOCK_SKEW_SECONDS`) and not held by another ftgate job; the oldest of them.
- A fine-tuned model answers chats only once deployed: a job that succeeded at Azure is shown
  running until its model's deployment (made once, through Azure Resource Manager) is
  provisioned, and failed if the deployment failed. Chats go to the deployment's name.
- A suffix is at most 40 letters, digits, `-` and `_`, and W&B integrations are not offered:
  both are refused before anything is sent.
"""

import dataclasses
import re
from typing import Any

import httpx

from gateway.providers.azure_deployments import AzureDeployments, Provisioning, deployment_name
from gateway.providers.base import ChatReply, JobLookup, Unsupported, UpstreamJob, UpstreamStatus
from gateway.providers.config import UpstreamSpec
from gateway.providers.openai import LOOKUP_PAGE, OpenAIProvider

CLOCK_SKEW_SECONDS = 600
SUFFIX = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
DEPLOYMENT_ENDED = frozenset({Provisioning.FAILED, Provisioning.CANCELED})


class AzureProvider(OpenAIProvider):
    state_names = {"pending": UpstreamStatus.QUEUED, "created": UpstreamStatus.QUEUED}

    def __init__(self, spec: UpstreamSpec, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(spec, transport)
        self.deployments = AzureDeployments(spec, transport)

    @staticmethod
    def auth(spec: UpstreamSpec) -> dict[str, str] | None:
        return {"api-key": spec.api_key.get_secret_value()}

    def unsupported(self, request: dict[str, Any]) -> Unsupported | None:
        suffix = request.get("suffix")
        if suffix is not None and not SUFFIX.match(suffix):
            return Unsupported(
                "Azure OpenAI takes a suffix of at most 40 letters, digits, '-' and '_'.", "suffix"
            )
        if request.get("integrations"):
            return Unsupported("Azure OpenAI fine-tuning offers no integrations.", "integrations")
        return None

    async def find_job(self, lookup: JobLookup) -> UpstreamJob | None:
        params = {"limit": LOOKUP_PAGE}
        listed = (await self.http.request("GET", "/fine_tuning/jobs", params=params)).json().get("data")
        listed = [item for item in listed or [] if item.get("id") not in lookup.taken]
        found = [
            item for item in listed if (item.get("metadata") or {}).get(lookup.metadata_key) == lookup.job_id
        ]
        if not found:
            unmarked = [item for item in listed if not (item.get("metadata") or {}).get(lookup.metadata_key)]
            found = [item for item in unmarked if _is_same_create(item, lookup)]
        if not found:
            return None
        return await self._servable(self.to_upstream_job(min(found, key=lambda item: item["created_at"])))

    async def get_job(self, job_id: str) -> UpstreamJob:
        return await self._servable(await super().get_job(job_id))

    async def chat(self, body: dict[str, Any]) -> ChatReply:
        return await self.http.chat(body | {"model": deployment_name(str(body.get("model") or ""))})

    async def close(self) -> None:
        await super().close()
        await self.deployments.close()

    async def _servable(self, job: UpstreamJob) -> UpstreamJob:
        """The job as ftgate shows it: a succeeded one only once its model's deployment is ready."""
        if job.status != UpstreamStatus.SUCCEEDED or not job.fine_tuned_model:
            return job
        state = await self.deployments.ensure(job.fine_tuned_model)
        if state == Provisioning.READY:
            return job
        if state in DEPLOYMENT_ENDED:
            error = {
                "code": "deployment_failed",
                "message": f"Azure could not deploy {job.fine_tuned_model} "
                f"(deployment {deployment_name(job.fine_tuned_model)}: {state}).",
                "param": None,
            }
            return dataclasses.replace(job, status=UpstreamStatus.FAILED, error=error)
        return dataclasses.replace(job, status=UpstreamStatus.RUNNING, finished_at=None)


def _is_same_create(item: dict[str, Any], lookup: JobLookup) -> bool:
    request = lookup.request
    return (
        item.get("model") == request.get("model")
        and item.get("training_file") == request.get("training_file")
        and item.get("validation_file") == request.get("validation_file")
        and item.get("seed") == request.get("seed")
        and int(item.get("created_at") or 0) >= lookup.sent_at - CLOCK_SKEW_SECONDS
    )
