"""The request body of POST /v1/fine_tuning/jobs, with the spec's ranges."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, field_validator

from gateway.text import refuse_unstorable

Auto = Literal["auto"]
BatchSize = Auto | Annotated[StrictInt, Field(ge=1, le=256)]
LearningRateMultiplier = Auto | Annotated[StrictFloat, Field(gt=0, allow_inf_nan=False)]
Epochs = Auto | Annotated[StrictInt, Field(ge=1, le=50)]
Beta = Auto | Annotated[StrictFloat, Field(gt=0, le=2, allow_inf_nan=False)]
SUFFIX_PATTERN = r"^[A-Za-z0-9._-]+$"
MAX_STRING_CHARS = 4096


class Params(BaseModel):
    """Request objects ignore unknown keys, like the spec's open job-create body."""

    model_config = ConfigDict(extra="ignore", str_max_length=MAX_STRING_CHARS)

    # Before each field's own checks, so that a suffix, say, is refused for its NUL or lone
    # surrogate in the same words as any other stored text.
    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        return refuse_unstorable(value)


class SupervisedHyperparameters(Params):
    batch_size: BatchSize = "auto"
    learning_rate_multiplier: LearningRateMultiplier = "auto"
    n_epochs: Epochs = "auto"


class DpoHyperparameters(SupervisedHyperparameters):
    beta: Beta = "auto"


class SupervisedMethod(Params):
    hyperparameters: SupervisedHyperparameters = Field(default_factory=SupervisedHyperparameters)


class DpoMethod(Params):
    hyperparameters: DpoHyperparameters = Field(default_factory=DpoHyperparameters)


class Method(Params):
    type: Literal["supervised", "dpo", "reinforcement"]
    supervised: SupervisedMethod | None = None
    dpo: DpoMethod | None = None
    reinforcement: dict[str, Any] | None = None


class WandbIntegration(Params):
    project: Annotated[str, Field(min_length=1)]
    name: str | None = None
    entity: str | None = None
    tags: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=50)] | None = None


class Integration(Params):
    type: Literal["wandb"]
    wandb: WandbIntegration


MetadataKey = Annotated[str, Field(max_length=64)]
MetadataValue = Annotated[str, Field(max_length=512)]


class JobCreateParams(Params):
    model: Annotated[str, Field(min_length=1)]
    training_file: Annotated[str, Field(min_length=1)]
    validation_file: str | None = None
    suffix: Annotated[str, Field(min_length=1, max_length=64, pattern=SUFFIX_PATTERN)] | None = None
    seed: Annotated[StrictInt, Field(ge=0, le=2147483647)] | None = None
    method: Method | None = None
    hyperparameters: SupervisedHyperparameters | None = None
    integrations: Annotated[list[Integration], Field(max_length=5)] | None = None
    metadata: Annotated[dict[MetadataKey, MetadataValue], Field(max_length=16)] | None = None
