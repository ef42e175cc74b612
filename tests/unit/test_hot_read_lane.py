"""What the hot reads' lane takes on itself, and what it leaves to the routes."""

from types import SimpleNamespace

import pytest
from sqlalchemy import bindparam, select

from gateway.fine_tuning.hot_reads import READS
from gateway.hot_reads.lane import HotRead, HotReadsMiddleware, PageParams
from gateway.hot_reads.reader import PostgresReader, Query, Reader, SqliteReader, build_reader
from gateway.models import JobEvent

PAGED = HotRead("/v1/things/{thing_id}/parts", answer=None, paged=True, default_limit=20)  # type: ignore[arg-type]
SINGLE = HotRead("/v1/things/{thing_id}", answer=None, paged=False)  # type: ignore[arg-type]


def test_a_template_matches_its_paths_only() -> None:
    assert SINGLE.pattern.fullmatch("/v1/things/t-1").groupdict() == {"thing_id": "t-1"}
    assert SINGLE.pattern.fullmatch("/v1/things/t-1/parts") is None
    assert PAGED.pattern.fullmatch("/v1/things/t-1/parts").groupdict() == {"thing_id": "t-1"}
    assert [read.path for read in READS] == [
        "/v1/fine_tuning/jobs/{fine_tuning_job_id}",
        "/v1/fine_tuning/jobs",
        "/v1/fine_tuning/jobs/{fine_tuning_job_id}/events",
    ]


@pytest.mark.parametrize(
    ("query", "page"),
    [
        (b"", PageParams(after=None, limit=20)),
        (b"limit=1000", PageParams(after=None, limit=1000)),
        (b"after=ftevent-a%2Bb&limit=3", PageParams(after="ftevent-a+b", limit=3)),
        (b"after=", PageParams(after="", limit=20)),
    ],
)
def test_a_page_the_lane_answers(query: bytes, page: PageParams) -> None:
    assert PAGED.page(query) == page


@pytest.mark.parametrize(
    "query",
    [
        b"limit=0",
        b"limit=1001",
        b"limit=-1",
        b"limit=ten",
        b"limit=",
        b"limit=1&limit=2",
        b"metadata[a]=b",
        b"metadata=null",
        b"after=%00",
        b"order=asc",
    ],
)
def test_a_page_the_lane_leaves_to_its_route(query: bytes) -> None:
    assert PAGED.page(query) is None


def test_a_read_without_pages_takes_no_parameter() -> None:
    assert SINGLE.page(b"") == PageParams(after=None, limit=0)
    assert SINGLE.page(b"limit=3") is None


def test_a_query_compiles_once_per_database_with_the_values_it_holds_itself() -> None:
    query = Query(
        "EventRow",
        select(JobEvent.id, JobEvent.data)
        .where(JobEvent.job_id == bindparam("job_id"))
        .order_by(JobEvent.seq.desc())
        .limit(bindparam("limit")),
    )
    sql, values = query.sql("sqlite", {"job_id": "ftjob-1", "limit": 5})
    assert sql.count("?") == len(values) and values[:2] == ["ftjob-1", 5]
    sql, values = query.sql("postgresql", {"job_id": "ftjob-1", "limit": 5})
    assert "$2" in sql and values == ["ftjob-1", 5]
    row = query.row(("ftevent-1", '{"step": 3, "loss": 0.5}'))
    assert (row.id, row.data) == ("ftevent-1", {"step": 3, "loss": 0.5})
    assert query.row(("ftevent-2", None)).data is None


def test_only_a_database_another_connection_can_see_has_a_reader(tmp_path) -> None:
    assert build_reader("sqlite+aiosqlite://") is None
    assert build_reader("sqlite+aiosqlite:///:memory:") is None
    assert isinstance(build_reader(f"sqlite+aiosqlite:///{tmp_path / 'ftgate.db'}"), SqliteReader)
    assert isinstance(build_reader("postgresql+asyncpg://u:p@localhost/db"), PostgresReader)


class NoReads(Reader):
    async def raw_rows(self, query: Query, **params: object) -> list[tuple[object, ...]]:
        raise AssertionError("the lane read for a request it must leave to the app")

    async def close(self) -> None:
        pass


@pytest.mark.parametrize(
    "scope",
    [
        {"type": "http", "method": "POST", "path": "/v1/fine_tuning/jobs"},
        {"type": "http", "method": "HEAD", "path": "/v1/fine_tuning/jobs"},
        {"type": "http", "method": "GET", "path": "/v1/files"},
        {"type": "http", "method": "GET", "path": "/v1/fine_tuning/jobs/ftjob-1/checkpoints"},
        {"type": "websocket", "path": "/v1/fine_tuning/jobs"},
    ],
)
async def test_the_lane_steps_aside_for_what_it_does_not_answer(scope: dict) -> None:
    runtime = SimpleNamespace(hot_reader=NoReads())
    passed = []

    async def app(scope: dict, receive: object, send: object) -> None:
        passed.append(scope)

    lane = HotReadsMiddleware(app, READS)
    app_state = SimpleNamespace(state=SimpleNamespace(runtime=runtime))
    scope |= {"query_string": b"", "headers": [], "app": app_state}
    await lane(scope, None, None)
    assert passed == [scope]
