"""The upstreams an operator configures: where they are, with which key, and how patient to be."""

from typing import Literal

from pydantic import BaseModel, Field, HttpUrl, SecretStr

OPENAI_BASE_URL = "https://api.openai.com/v1"


class UpstreamSpec(BaseModel):
    """One upstream. Base models whose `provider` is `name` run there; `kind` says which API it
    speaks (`openai`: OpenAI's own, at any base URL)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: Literal["openai", "azure", "together", "fireworks"] = "openai"
    base_url: HttpUrl = HttpUrl(OPENAI_BASE_URL)
    api_key: SecretStr
    webhook_secret: SecretStr | None = Field(
        default=None, description="whsec_… secret of the upstream's webhooks to /v1/upstream_webhooks/{name}"
    )
    timeout_seconds: float = Field(default=30.0, gt=0)
    attempts: int = Field(default=3, ge=1, description="tries per request on 429, 5xx and timeouts")
    max_retry_after_seconds: float = Field(
        default=20.0, ge=0, description="a longer retry-after ends the request; the job tries again later"
    )
    resend_after_seconds: float = Field(
        default=120.0,
        gt=0,
        description="a create whose answer was lost is looked up this long (it may still be under way "
        "upstream) before it is sent again",
    )
