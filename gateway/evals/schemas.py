"""The Evals API's wire shapes: Eval, EvalRun, EvalRunOutputItem, their lists and deletions,
and the create/update requests (data sources and criteria stay raw JSON here: `criteria` and
`data_sources` read them and name bad paths)."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.fine_tuning.params import MetadataKey, MetadataValue
from gateway.models import StoredEval, StoredEvalRun, StoredOutputItem
from gateway.text import refuse_unstorable

Metadata = Annotated[dict[MetadataKey, MetadataValue], Field(max_length=16)]


class EvalParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        return refuse_unstorable(value)


class CreateEvalParams(EvalParams):
    name: Annotated[str, Field(max_length=512)] | None = None
    metadata: Metadata | None = None
    data_source_config: dict[str, Any]
    testing_criteria: list[Any]


class UpdateEvalParams(EvalParams):
    name: Annotated[str, Field(max_length=512)] | None = None
    metadata: Metadata | None = None


class CreateRunParams(EvalParams):
    name: Annotated[str, Field(max_length=512)] | None = None
    metadata: Metadata | None = None
    data_source: dict[str, Any]


class Eval(BaseModel):
    object: Literal["eval"] = "eval"
    id: str
    name: str
    data_source_config: dict[str, Any]
    testing_criteria: list[dict[str, Any]]
    created_at: int
    metadata: dict[str, str]

    @classmethod
    def of(cls, stored: StoredEval) -> "Eval":
        return cls(
            id=stored.id,
            name=stored.name,
            data_source_config=stored.data_source_config,
            testing_criteria=stored.testing_criteria,
            created_at=stored.created_at,
            metadata=stored.user_metadata,
        )


class ResultCounts(BaseModel):
    total: int
    errored: int
    failed: int
    passed: int


class ModelUsage(BaseModel):
    model_name: str
    invocation_count: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_tokens: int


class CriterionResults(BaseModel):
    testing_criteria: str
    passed: int
    failed: int


class EvalApiError(BaseModel):
    code: str
    message: str


class EvalRun(BaseModel):
    object: Literal["eval.run"] = "eval.run"
    id: str
    eval_id: str
    status: str
    model: str
    name: str
    created_at: int
    report_url: str
    result_counts: ResultCounts
    per_model_usage: list[ModelUsage]
    per_testing_criteria_results: list[CriterionResults]
    data_source: dict[str, Any]
    metadata: dict[str, str]
    error: EvalApiError | None

    @classmethod
    def of(cls, run: StoredEvalRun) -> "EvalRun":
        return cls(
            id=run.id,
            eval_id=run.eval_id,
            status=run.status,
            model=run.model,
            name=run.name,
            created_at=run.created_at,
            report_url=run.report_url,
            result_counts=ResultCounts(**run.result_counts),
            per_model_usage=[
                ModelUsage(model_name=name, **usage) for name, usage in run.per_model_usage.items()
            ],
            per_testing_criteria_results=[
                CriterionResults(testing_criteria=label, **counts)
                for label, counts in run.per_criterion.items()
            ],
            data_source=run.data_source,
            metadata=run.user_metadata,
            error=EvalApiError(**run.error) if run.error else None,
        )


class EvalRunOutputItem(BaseModel):
    object: Literal["eval.run.output_item"] = "eval.run.output_item"
    id: str
    run_id: str
    eval_id: str
    created_at: int
    status: str
    datasource_item_id: int
    datasource_item: dict[str, Any]
    results: list[dict[str, Any]]
    sample: dict[str, Any]

    @classmethod
    def of(cls, stored: StoredOutputItem) -> "EvalRunOutputItem":
        return cls(
            id=stored.id,
            run_id=stored.run_id,
            eval_id=stored.eval_id,
            created_at=stored.created_at,
            status=stored.status,
            datasource_item_id=stored.datasource_item_id,
            datasource_item=stored.datasource_item,
            results=stored.results,
            sample=stored.sample,
        )


class EvalDeleted(BaseModel):
    object: Literal["eval.deleted"] = "eval.deleted"
    deleted: bool
    eval_id: str


class EvalRunDeleted(BaseModel):
    object: Literal["eval.run.deleted"] = "eval.run.deleted"
    deleted: bool
    run_id: str
