"""Wire shapes of replace and compare (ftgate's own admin API): the requests, and the comparison
they answer with (a replacement answers with the FineTuningJob it created)."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from gateway.fine_tuning.params import BatchSize, Beta, Epochs, LearningRateMultiplier
from gateway.text import StoredText

MAX_NAME = 512
Name = Annotated[StoredText, Field(min_length=1, max_length=MAX_NAME)]
# An int is a float for these two, as a flag's `--learning-rate-multiplier 2` means it.
Multiplier = LearningRateMultiplier | Annotated[StrictInt, Field(gt=0)]
BetaValue = Beta | Annotated[StrictInt, Field(gt=0, le=2)]


class HyperparameterOverrides(BaseModel):
    """What to change from the original's hyperparameters; "auto" lets the usual rules choose."""

    model_config = ConfigDict(extra="forbid")

    n_epochs: Epochs | None = None
    batch_size: BatchSize | None = None
    learning_rate_multiplier: Multiplier | None = None
    beta: BetaValue | None = Field(default=None, description="dpo only")

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class ReplaceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    original: Name = Field(
        description="what to replace: an imported job (`ftjob-…`), the model it made, a model "
        "whose chats the project captured, or one of that capture's files"
    )
    model: Name = Field(description="the open base model to train, one the local trainer offers")
    training_file: Name | None = Field(
        default=None,
        description="default: the original job's training file when ftgate holds its content, "
        "else the file the capture of the original grew",
    )
    suffix: Annotated[StoredText, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="default: the original's"
    )
    hyperparameters: HyperparameterOverrides = Field(default_factory=HyperparameterOverrides)


GraderPreset = Literal["fuzzy_match", "judge"]


class CompareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    original: Name = Field(description="the original model (or its job), as for a replacement")
    replacement: Name | None = Field(
        default=None, description="default: the model of the newest succeeded job replacing the original"
    )
    base: Name | None = Field(default=None, description="default: the replacement job's base model")
    held_out_file: Name | None = Field(
        default=None,
        description='an evals file of `{"item": {"messages": [...], "answer": "..."}}` lines; '
        "default: the held-out file the capture of the original grew",
    )
    graders: Annotated[list[GraderPreset], Field(min_length=1, max_length=2)] = Field(
        default=["fuzzy_match", "judge"],
        description="fuzzy_match: text similarity to the original's answer; judge: a model scores "
        "the answer against the original's",
    )
    judge_model: Name | None = Field(
        default=None,
        description="the judge's model; default: the original's base model, while the project can "
        "chat with it (else the judge is left out, and `notes` says so)",
    )
    pass_threshold: StrictFloat | StrictInt | None = Field(
        default=None, ge=0, le=1, description="the score that passes, for both presets (default 0.7)"
    )
    testing_criteria: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=20)] | None = Field(
        default=None,
        description="the eval's own testing criteria instead of the presets (item: messages, answer)",
    )
    max_completion_tokens: StrictInt = Field(
        default=512, ge=1, le=32768, description="the longest answer sampled from each model"
    )
    name: Annotated[StoredText, Field(max_length=MAX_NAME)] | None = None


RunRole = Literal["original", "base", "replacement"]


class ComparedRun(BaseModel):
    role: RunRole
    model: str
    run_id: str | None = Field(description="null when the run was left out (see `skipped`)")
    report_url: str | None
    skipped: str | None = Field(description="why the run was left out")


class Comparison(BaseModel):
    object: Literal["admin.comparison"] = "admin.comparison"
    eval_id: str
    original: str
    held_out_file: str
    runs: list[ComparedRun]
    notes: list[str] = Field(description="what the comparison left out (a grader), and why")
    report_url: str = Field(description="the dashboard page showing the runs side by side")
