"""A page joined from its items' bytes is the page pydantic writes."""

import pytest

from gateway.fine_tuning.schemas import FineTuningJobEvent
from gateway.pagination import ListPage, list_page_json
from gateway.shown import wire_json

EVENTS = [
    FineTuningJobEvent(
        id=f"ftevent-{n}", created_at=n, level="info", message=f"Step {n} ✓", data={"step": n}, type="metrics"
    )
    for n in range(3)
]


@pytest.mark.parametrize("count", [0, 1, 3])
@pytest.mark.parametrize("has_more", [False, True])
def test_a_page_joined_from_its_items_bytes_is_the_page_pydantic_writes(count: int, has_more: bool) -> None:
    items = EVENTS[:count]
    joined = list_page_json([wire_json(item) for item in items], has_more)
    assert joined == wire_json(ListPage(data=items, has_more=has_more))
