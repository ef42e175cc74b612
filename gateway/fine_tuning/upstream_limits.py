"""What a job's provider cannot do, refused with a 400 naming the field before anything is
taken or sent: the one place where a provider's own limits (an upstream's, the local trainer's)
meet a client's request."""

from typing import Any

from gateway.errors import InvalidRequest
from gateway.fine_tuning.params import JobCreateParams
from gateway.models import Job
from gateway.runtime import Runtime


def require_create_supported(
    runtime: Runtime, provider_name: str, model: str, method: dict[str, Any], params: JobCreateParams
) -> None:
    provider = runtime.providers.get(provider_name)
    if provider is None:
        return  # an upstream not configured here: its models are not offered, so never reached
    request = {
        "model": model,
        "method": method,
        "suffix": params.suffix,
        "seed": params.seed,
        "validation_file": params.validation_file,
        "integrations": [item.model_dump(exclude_none=True) for item in params.integrations or []],
    }
    refused = provider.unsupported(request)
    if refused is not None:
        raise InvalidRequest(refused.message, param=refused.param, code="unsupported_by_upstream")


def require_action_supported(runtime: Runtime, job: Job, action: str) -> None:
    provider = runtime.providers.get(job.provider)
    if provider is not None and action not in provider.actions:
        raise InvalidRequest(
            f"Job {job.id} runs on the upstream {job.provider}, which cannot {action} fine-tuning jobs.",
            param="fine_tuning_job_id",
            code="unsupported_action",
        )
