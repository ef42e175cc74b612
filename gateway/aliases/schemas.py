"""Wire shapes of the admin API's model aliases (ftgate's own objects)."""

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt

from gateway.models import ModelAlias
from gateway.text import StoredText

MAX_NAME = 512


def unix_seconds(value: object) -> object:
    """Unix seconds (a number, or a string of digits), or an ISO-8601 time (`2027-01-14T00:00Z`;
    UTC when it names no offset, midnight UTC for a bare date) turned into them."""
    if not isinstance(value, str):
        return value
    if value.strip().isdigit():
        return int(value)
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("expected Unix seconds or an ISO-8601 time such as 2027-01-14T00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


UnixSeconds = Annotated[StrictInt, Field(ge=0, le=2**63 - 1), BeforeValidator(unix_seconds)]


class AliasPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    replacement: StoredText = Field(
        min_length=1,
        max_length=MAX_NAME,
        description="the model that answers for the alias: a base model offered here, or a "
        "fine-tuned model or checkpoint of the project",
    )
    active_from: UnixSeconds | None = Field(
        default=None,
        description="when the alias takes over (Unix seconds or ISO-8601); before it the name "
        "goes where it went before. Null: at once.",
    )


class AdminModelAlias(BaseModel):
    object: Literal["admin.model_alias"] = "admin.model_alias"
    id: str = Field(description="the aliased model id, as clients send it")
    project_id: str
    replacement: str
    active_from: int | None
    active: bool = Field(description="whether the replacement answers for `id` now")
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, alias: ModelAlias, now: int) -> "AdminModelAlias":
        return cls(
            id=alias.name,
            project_id=alias.project_id,
            replacement=alias.replacement,
            active_from=alias.active_from,
            active=alias.in_force(now),
            created_at=alias.created_at,
            updated_at=alias.updated_at,
        )


class AdminModelAliasDeleted(BaseModel):
    object: Literal["admin.model_alias.deleted"] = "admin.model_alias.deleted"
    id: str
    deleted: bool
