"""The admin API's shapes for the import."""

from pathlib import Path

from pydantic import BaseModel, Field

from gateway.openai_import.report import ImportReport


class ImportRequest(BaseModel):
    upstream: str = Field(description="the configured upstream to read, e.g. `openai`")
    base_url: str | None = Field(default=None, description="another address for that upstream")
    training_files: Path | None = Field(
        default=None, description="a folder on the server holding the JSONL files the jobs trained on"
    )


class MissingFileOut(BaseModel):
    id: str
    filename: str
    bytes: int


class ImportResult(BaseModel):
    object: str = "openai.import"
    source: str
    project: str
    jobs_added: list[str]
    jobs_updated: list[str]
    jobs_unchanged: int
    events_added: int
    checkpoints_added: int
    files_added: list[str]
    result_files_added: list[str]
    skipped: list[str]
    attached: dict[str, str]
    missing: list[MissingFileOut]

    @classmethod
    def of(cls, report: ImportReport) -> "ImportResult":
        return cls.model_validate(report.to_dict())
