"""The admin API's shapes for adapters brought home."""

from typing import Literal, Self

from pydantic import BaseModel, Field

from gateway.models import HomeAdapter


class BringHomeRequest(BaseModel):
    model: str = Field(description="a fine-tuned model of the project that an upstream trained")


class HomeAdapterObject(BaseModel):
    object: Literal["admin.home_adapter"] = "admin.home_adapter"
    model: str
    fine_tuning_job_id: str
    base_model: str = Field(description="the local model that serves the adapter")
    bytes: int = Field(description="the size of the archive as downloaded")
    sha256: str
    created_at: int

    @classmethod
    def of(cls, home: HomeAdapter, model: str) -> Self:
        return cls(
            model=model,
            fine_tuning_job_id=home.job_id,
            base_model=home.base_model,
            bytes=home.bytes,
            sha256=home.sha256,
            created_at=home.created_at,
        )
