"""The upstreams an operator configures: where they are, with which key, and how patient to be."""

from typing import Literal, Self

from pydantic import BaseModel, Field, HttpUrl, SecretStr, field_validator, model_validator

from gateway.catalog import LOCAL_PROVIDER

OPENAI_BASE_URL = "https://api.openai.com/v1"
AZURE_MANAGEMENT_URL = "https://management.azure.com"


class AzureDeployment(BaseModel):
    """Where and how an `azure` upstream's fine-tuned models are deployed (Azure Resource Manager,
    with an Entra token), so that they can answer chats."""

    management_url: HttpUrl = HttpUrl(AZURE_MANAGEMENT_URL)
    subscription_id: str = Field(min_length=1)
    resource_group: str = Field(min_length=1)
    account_name: str = Field(min_length=1, description="the Azure OpenAI resource")
    token: SecretStr = Field(description="an Entra ID bearer token for management.azure.com")
    sku: str = Field(default="standard", description="standard, globalstandard or developer")
    capacity: int = Field(default=1, ge=1)
    api_version: str = "2024-10-21"


# The kinds whose upstreams estimate a job's price (`upstream_estimates`).
ESTIMATING_KINDS = ("together", "fireworks")
# Those that estimate before a job exists (Together's estimate-price); Fireworks shows its
# estimate on a created job only.
ESTIMATES_BEFORE_JOB = ("together",)


class UpstreamSpec(BaseModel):
    """One upstream. Base models whose `provider` is `name` run there; `kind` says which API it
    speaks (`openai`: OpenAI's own, at any base URL). A `fireworks` upstream names the account its
    datasets, jobs and models live in (`account_id`) and serves chat at `inference_base_url` (by
    default the base URL's host at `/inference/v1`). An `azure` upstream (its v1 API,
    `https://RES.openai.azure.com/openai/v1`) says where its models are deployed
    (`azure_deployment`)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: Literal["openai", "azure", "together", "fireworks"] = "openai"
    base_url: HttpUrl = HttpUrl(OPENAI_BASE_URL)
    api_key: SecretStr
    account_id: str | None = Field(
        default=None, description="the Fireworks account (`accounts/{account_id}/…`); fireworks only"
    )
    inference_base_url: HttpUrl | None = Field(
        default=None, description="where a fireworks upstream serves chat; default: the host's /inference/v1"
    )
    azure_deployment: AzureDeployment | None = Field(
        default=None, description="where fine-tuned models are deployed; azure only"
    )
    upstream_estimates: bool = Field(
        default=False,
        description="budgets reserve the larger of ftgate's quote and the upstream's own estimate: "
        "Together's estimate-price, asked before a job is sent (a job a budget cannot hold then fails), "
        "and Fireworks' estimatedCost, read on the job once it exists; together and fireworks only",
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="whsec_… secret of the upstream's webhooks to /webhooks/upstreams/{name}"
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

    @field_validator("name")
    @classmethod
    def _not_the_local_trainer(cls, name: str) -> str:
        if name == LOCAL_PROVIDER:
            raise ValueError(
                f"an upstream cannot be named {LOCAL_PROVIDER!r}: the local trainer has that name "
                "(its models say `provider: local`); give the upstream another name"
            )
        return name

    @model_validator(mode="after")
    def _kind_settings(self) -> Self:
        if self.kind == "fireworks" and not self.account_id:
            raise ValueError(
                f"upstream {self.name!r} is of kind 'fireworks' and needs the account_id of the "
                "Fireworks account its jobs run in"
            )
        if self.kind == "azure" and self.azure_deployment is None:
            raise ValueError(
                f"upstream {self.name!r} is of kind 'azure' and needs azure_deployment: where its "
                "fine-tuned models are deployed before they answer chats"
            )
        return self

    @model_validator(mode="after")
    def _estimates_of_kind(self) -> Self:
        if self.upstream_estimates and self.kind not in ESTIMATING_KINDS:
            raise ValueError(
                f"upstream {self.name!r} is of kind {self.kind!r}, whose API gives no price estimate: "
                f"upstream_estimates is for {' and '.join(ESTIMATING_KINDS)} upstreams"
            )
        return self

    @property
    def chat_base_url(self) -> str:
        """Where chat completions go: `inference_base_url`, else for Fireworks the base URL's host
        at `/inference/v1`, else the base URL."""
        if self.inference_base_url is not None:
            return str(self.inference_base_url).rstrip("/")
        base = str(self.base_url).rstrip("/")
        if self.kind != "fireworks":
            return base
        return f"{self.base_url.scheme}://{self.base_url.host}{_port(self.base_url)}/inference/v1"


def _port(url: HttpUrl) -> str:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return "" if url.port in (None, default) else f":{url.port}"
