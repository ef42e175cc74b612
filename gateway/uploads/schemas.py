"""Wire shapes of the Uploads API, field for field OpenAI's (Upload, UploadPart and the create
and complete requests)."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from gateway.files import purposes
from gateway.files.schemas import FileObject
from gateway.models import StoredFile, StoredUpload, StoredUploadPart
from gateway.text import refuse_unstorable

# The parts one completion may name (8 GB in 64 MB parts is 128).
MAX_PARTS = 10000

UploadStatus = Literal["pending", "completed", "cancelled", "expired"]


class UploadParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        return refuse_unstorable(value)


class ExpiresAfter(UploadParams):
    anchor: Literal["created_at"]
    seconds: Annotated[StrictInt, Field(ge=purposes.MIN_EXPIRY_SECONDS, le=purposes.MAX_EXPIRY_SECONDS)]


class CreateUploadParams(UploadParams):
    filename: Annotated[str, Field(min_length=1, max_length=purposes.MAX_FILENAME_CHARS)]
    purpose: str
    bytes: Annotated[StrictInt, Field(ge=0)]
    mime_type: Annotated[str, Field(max_length=256)]
    expires_after: ExpiresAfter | None = None


class CompleteUploadParams(UploadParams):
    part_ids: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=MAX_PARTS)]
    md5: Annotated[str, Field(max_length=64)] | None = None


class Upload(BaseModel):
    id: str
    object: Literal["upload"] = "upload"
    bytes: int
    created_at: int
    expires_at: int
    filename: str
    purpose: str
    status: UploadStatus
    file: FileObject | None = None

    @classmethod
    def of(cls, stored: StoredUpload, status: UploadStatus, file: StoredFile | None = None) -> "Upload":
        return cls(
            id=stored.id,
            bytes=stored.bytes,
            created_at=stored.created_at,
            expires_at=stored.expires_at,
            filename=stored.filename,
            purpose=stored.purpose,
            status=status,
            file=FileObject.of(file) if file is not None else None,
        )


class UploadPart(BaseModel):
    id: str
    object: Literal["upload.part"] = "upload.part"
    created_at: int
    upload_id: str

    @classmethod
    def of(cls, part: StoredUploadPart) -> "UploadPart":
        return cls(id=part.id, created_at=part.created_at, upload_id=part.upload_id)


# `POST /v1/uploads/{id}/parts` reads its multipart body as a stream itself; this is what it reads.
PART_REQUEST_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["data"],
                "properties": {
                    "data": {"type": "string", "format": "binary", "description": "The part's bytes."}
                },
            }
        }
    },
}
