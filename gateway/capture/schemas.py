"""Wire shapes of capture's admin API (ftgate's own)."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictFloat, StrictInt

from gateway.models import Capture
from gateway.text import StoredText

DEFAULT_MAX_EXAMPLES = 10_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

FieldPath = Annotated[StoredText, Field(min_length=1, max_length=200)]


class CaptureChanges(BaseModel):
    """The settings to change; those left out keep their value (their default, for a new capture)."""

    sample_rate: StrictFloat | None = Field(
        default=None, ge=0, le=1, description="the share of chats recorded, at random (default 1)"
    )
    held_out_fraction: StrictFloat | None = Field(
        default=None,
        ge=0,
        le=1,
        description="the share of prompts kept aside in the held-out file, by hash (default 0.1)",
    )
    max_examples: StrictInt | None = Field(
        default=None,
        ge=1,
        le=2**62,
        description=f"examples in both files together (default {DEFAULT_MAX_EXAMPLES})",
    )
    max_bytes: StrictInt | None = Field(
        default=None,
        ge=1,
        le=2**62,
        description=f"bytes of both files together (default {DEFAULT_MAX_BYTES})",
    )
    drop_fields: list[FieldPath] | None = Field(
        default=None,
        max_length=100,
        description="request fields whose presence keeps a chat out: `user`, `metadata.customer`, ...",
    )

    def given(self) -> dict[str, object]:
        return self.model_dump(exclude_none=True)


DEFAULTS = {
    "sample_rate": 1.0,
    "held_out_fraction": 0.1,
    "max_examples": DEFAULT_MAX_EXAMPLES,
    "max_bytes": DEFAULT_MAX_BYTES,
    "drop_fields": [],
}


class AdminCapture(BaseModel):
    object: Literal["admin.capture"] = "admin.capture"
    id: str
    project_id: str
    model: str
    enabled: bool
    sample_rate: float
    held_out_fraction: float
    max_examples: int
    max_bytes: int
    drop_fields: list[str]
    training_file_id: str | None
    held_out_file_id: str | None
    training_examples: int
    held_out_examples: int
    examples: int = Field(description="both files together")
    bytes: int = Field(description="both files together")
    capped_at: int | None = Field(description="when a cap stopped capture (until the caps change)")
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, capture: Capture) -> "AdminCapture":
        return cls(
            id=capture.id,
            project_id=capture.project_id,
            model=capture.model,
            enabled=capture.enabled,
            sample_rate=capture.sample_rate,
            held_out_fraction=capture.held_out_fraction,
            max_examples=capture.max_examples,
            max_bytes=capture.max_bytes,
            drop_fields=capture.drop_fields,
            training_file_id=capture.training_file_id,
            held_out_file_id=capture.held_out_file_id,
            training_examples=capture.training_examples,
            held_out_examples=capture.held_out_examples,
            examples=capture.training_examples + capture.held_out_examples,
            bytes=capture.training_bytes + capture.held_out_bytes,
            capped_at=capture.capped_at,
            created_at=capture.created_at,
            updated_at=capture.updated_at,
        )
