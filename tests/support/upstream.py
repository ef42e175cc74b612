"""An ftgate server whose OpenAI models run on a scripted upstream (tests/support/fake_upstream)."""

import base64
import secrets
from pathlib import Path

from gateway.catalog import DEFAULT_BASE_MODELS
from gateway.providers.config import UpstreamSpec
from gateway.settings import Settings

UPSTREAM = "fake"
UPSTREAM_KEY = "sk-upstream-" + secrets.token_hex(16)
WEBHOOK_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
# Fast enough for tests: a running job is looked at five times a second.
FAST_POLLING = {
    "upstream_poll_tick_seconds": 0.1,
    "upstream_poll_running_seconds": 0.2,
    "upstream_poll_waiting_seconds": 0.3,
    "upstream_poll_paused_seconds": 0.5,
    "upstream_job_refresh_seconds": 0.5,
}


def upstream_spec(base_url: str, **overrides: object) -> UpstreamSpec:
    return UpstreamSpec.model_validate(
        {
            "name": UPSTREAM,
            "base_url": base_url,
            "api_key": UPSTREAM_KEY,
            "webhook_secret": WEBHOOK_SECRET,
            "timeout_seconds": 1.0,
            "attempts": 3,
            "max_retry_after_seconds": 5.0,
        }
        | overrides
    )


def upstream_settings(data_dir: Path, database_url: str, base_url: str, **overrides: object) -> Settings:
    """OpenAI's base models, routed to the fake upstream."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "reconcile_interval_seconds": 1.0,
        "upstreams": [upstream_spec(base_url)],
        "base_models": [spec.model_copy(update={"provider": UPSTREAM}) for spec in DEFAULT_BASE_MODELS],
        **FAST_POLLING,
    }
    return Settings.model_validate(values | overrides)


def supervised(n_epochs: int) -> dict:
    return {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": n_epochs}}}
