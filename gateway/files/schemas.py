"""Wire shapes of the Files API, field for field OpenAI's."""

from typing import Literal

from pydantic import BaseModel, Field

from gateway.files import purposes
from gateway.models import StoredFile


class FileObject(BaseModel):
    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    expires_at: int | None
    filename: str
    purpose: str
    status: Literal["uploaded", "processed", "error"]
    status_details: str | None = Field(default=None, exclude_if=lambda value: value is None)

    @classmethod
    def of(cls, stored: StoredFile) -> "FileObject":
        return cls(
            id=stored.id,
            bytes=stored.bytes,
            created_at=stored.created_at,
            expires_at=stored.expires_at,
            filename=stored.filename,
            purpose=stored.purpose,
            status=stored.status,
            status_details=stored.status_details,
        )


class FileDeleted(BaseModel):
    id: str
    object: Literal["file"] = "file"
    deleted: bool


# `POST /v1/files` reads its multipart body as a stream itself; this is what it reads.
UPLOAD_REQUEST_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "purpose"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "The file's bytes."},
                    "purpose": {"type": "string", "enum": list(purposes.UPLOADABLE)},
                    "expires_after[anchor]": {"type": "string", "enum": ["created_at"]},
                    "expires_after[seconds]": {
                        "type": "integer",
                        "minimum": purposes.MIN_EXPIRY_SECONDS,
                        "maximum": purposes.MAX_EXPIRY_SECONDS,
                    },
                },
            }
        }
    },
}

FILE_CONTENT = {
    "description": "The file's bytes, as uploaded.",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}
