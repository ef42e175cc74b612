"""A `[start, end)` window of Unix seconds on a `created_at` column. Those columns are 32-bit
INTEGERs on PostgreSQL, which refuses to compare with a wider number: bounds beyond what the
column holds are met by every row or by none."""

from typing import Any

from sqlalchemy import false

FIRST_TIME, LAST_TIME = -(2**31), 2**31 - 1


def within(query: Any, column: Any, start: int | None, end: int | None) -> Any:
    if start is not None and start > LAST_TIME:
        query = query.where(false())
    elif start is not None and start > FIRST_TIME:
        query = query.where(column >= start)
    if end is not None and end <= FIRST_TIME:
        query = query.where(false())
    elif end is not None and end <= LAST_TIME:
        query = query.where(column < end)
    return query
