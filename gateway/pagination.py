"""Keyset pagination on the internal `seq`; clients page with `after=<id of the last item>`."""

from collections.abc import Callable
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from gateway.errors import InvalidRequest

Item = TypeVar("Item")


class ListPage(BaseModel, Generic[Item]):
    object: Literal["list"] = "list"
    data: list[Item]
    has_more: bool


def list_page_json(items: list[bytes], has_more: bool) -> bytes:
    """`ListPage`'s wire bytes from its items' own: what `wire_json(ListPage(...))` writes."""
    return b'{"object":"list","data":[%s],"has_more":%s}' % (
        b",".join(items),
        b"true" if has_more else b"false",
    )


class ListPageWithIds(ListPage[Item], Generic[Item]):
    first_id: str | None
    last_id: str | None

    @classmethod
    def of(cls, data: list[Any], has_more: bool) -> "ListPageWithIds[Any]":
        first, last = (data[0].id, data[-1].id) if data else (None, None)
        return cls(data=data, has_more=has_more, first_id=first, last_id=last)


async def resolve_after(
    session: AsyncSession, after: str | None, seq_of: Callable[[str], Select[Any]]
) -> int | None:
    """The `seq` of the `after` object; `seq_of(id)` looks it up within the caller's scope."""
    if after is None:
        return None
    seq = await session.scalar(seq_of(after))
    if seq is None:
        raise InvalidRequest(f"No such object for 'after': {after}", param="after")
    return seq


async def fetch_page(
    session: AsyncSession,
    query: Select[Any],
    seq: InstrumentedAttribute[int],
    *,
    after_seq: int | None,
    limit: int,
    descending: bool = True,
) -> tuple[list[Any], bool]:
    if after_seq is not None:
        query = query.where(seq < after_seq if descending else seq > after_seq)
    query = query.order_by(seq.desc() if descending else seq.asc()).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    return rows[:limit], len(rows) > limit
