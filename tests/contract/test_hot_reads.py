"""The hot reads' lane (`gateway/hot_reads/`) next to the routes it stands in front of: two servers
on one database, one with the lane and one without, answer every read with the same bytes; what
the lane does not answer itself (errors, filters, a database it cannot read at once) its route
answers, and a request is counted once against the caller's rate limit either way."""

import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select, update

from gateway import db
from gateway.hot_reads.reader import JoinedRead, Query, Reader, ReadFailed
from gateway.models import Job, JobEvent, Project
from gateway.settings import Settings
from tests.support.admin import ADMIN_KEY, Admin
from tests.support.blocking import wait_for
from tests.support.limits import set_limits
from tests.support.metrics import parse
from tests.support.postgres import temporary_database
from tests.support.server import RunningServer, serve
from tests.support.spec import assert_matches_schema
from tests.support.wire import schema_for

JOBS = "/v1/fine_tuning/jobs"
NOW = int(time.time())
METHOD = {
    "type": "supervised",
    "supervised": {"hyperparameters": {"n_epochs": 3, "batch_size": 2, "learning_rate_multiplier": 0.5}},
}


def job_row(project: Project, n: int, **values: Any) -> dict[str, Any]:
    return {
        "id": f"ftjob-hot{n:04d}",
        "project_id": project.id,
        "organization_id": project.organization_id,
        "model": "gpt-4o-mini-2024-07-18",
        "base_model": "gpt-4o-mini-2024-07-18",
        "training_file": "file-train",
        "status": "succeeded",
        "created_at": NOW - 1000 + n,
        "updated_at": NOW - 1000 + n,
        "method": METHOD,
        "seed": 7,
        "result_files": [],
        "provider": "local",
        **values,
    }


async def seed(database_url: str, project_names: list[str]) -> None:
    """Jobs of every shape in the first project (and one in the second), events on the first job."""
    engine = db.create_engine(database_url)
    try:
        async with engine.begin() as connection:
            mine, theirs = [
                (await connection.execute(select(Project).where(Project.name == name))).one()
                for name in project_names
            ]
            rows = [job_row(mine, n) for n in range(12)]
            rows[1] |= {
                "status": "failed",
                "error": {
                    "code": "invalid_training_file",
                    "message": "Bad line 3.",
                    "param": "training_file",
                },
                "finished_at": NOW - 900,
            }
            rows[2] |= {
                "status": "running",
                "validation_file": "file-valid",
                "estimated_finish": NOW + 600,
                "suffix": "hot",
                "user_metadata": {"team": "search", "ticket": "42"},
                "integrations": [{"type": "wandb", "wandb": {"project": "p", "tags": ["x"]}}],
            }
            rows[3] |= {
                "fine_tuned_model": "ft:gpt-4o-mini-2024-07-18:org::hot3",
                "finished_at": NOW - 800,
                "trained_tokens": 123456,
                "hyperparameters": {
                    "n_epochs": "auto",
                    "batch_size": "auto",
                    "learning_rate_multiplier": "auto",
                },
                "imported_from": "https://api.openai.com/v1",
            }
            rows.append(job_row(theirs, 99))
            await connection.execute(insert(Job), rows)
            await connection.execute(
                insert(JobEvent),
                [
                    {
                        "id": f"ftevent-hot{n:04d}",
                        "job_id": "ftjob-hot0000",
                        "created_at": NOW - 500 + n,
                        "level": ["info", "warn", "error"][n % 3],
                        "message": f"Step {n}: training loss={1 / (n + 1):.4f} ✓",
                        "data": {"step": n, "train_loss": 1 / (n + 1)} if n % 2 else {},
                        "type": "metrics" if n % 2 else "message",
                    }
                    for n in range(25)
                ],
            )
    finally:
        await engine.dispose()


class CountingReader(Reader):
    """The lane's reader, counting the statements it runs."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.reads = 0

    async def raw_rows(self, query: Query, **params: Any) -> list[tuple[Any, ...]]:
        self.reads += 1
        return await self.reader.raw_rows(query, **params)

    async def joined_rows(self, read: JoinedRead, **params: Any) -> Any:
        self.reads += 1
        return await self.reader.joined_rows(read, **params)

    async def close(self) -> None:
        await self.reader.close()


class UnreadableDatabase(Reader):
    async def raw_rows(self, query: Query, **params: Any) -> list[tuple[Any, ...]]:
        raise ReadFailed("database is locked")

    async def close(self) -> None:
        pass


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def servers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("hot-reads")
    with ExitStack() as stack:
        database_url = (
            stack.enter_context(temporary_database())
            if request.param == "postgres"
            else f"sqlite+aiosqlite:///{folder / 'ftgate.db'}"
        )

        def server(name: str, hot_reads: bool) -> RunningServer:
            settings = Settings(
                data_dir=folder / name, database_url=database_url, hot_reads=hot_reads, admin_key=ADMIN_KEY
            )
            return stack.enter_context(serve(settings))

        lane, routes = server("lane", True), server("routes", False)
        keys = [lane.create_key(name) for name in ("mine", "theirs")]
        wait_for(seed(database_url, ["mine", "theirs"]))
        lane.runtime.hot_reader = CountingReader(lane.runtime.hot_reader)
        yield {"lane": lane, "routes": routes, "key": keys[0], "database_url": database_url}


def get(server: RunningServer, path: str, key: str | None) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.get(server.base_url + path, headers=headers)


def both(servers: dict, path: str, key: str | None = None) -> tuple[httpx.Response, httpx.Response]:
    key = servers["key"] if key is None else key
    return get(servers["lane"], path, key), get(servers["routes"], path, key)


READS = [
    f"{JOBS}/ftjob-hot0000",
    f"{JOBS}/ftjob-hot0001",
    f"{JOBS}/ftjob-hot0002",
    f"{JOBS}/ftjob-hot0003",
    JOBS,
    f"{JOBS}?limit=5",
    f"{JOBS}?limit=12",
    f"{JOBS}?limit=11",
    f"{JOBS}?limit=5&after=ftjob-hot0007",
    f"{JOBS}?after=ftjob-hot0002&limit=1000",
    f"{JOBS}?limit=1&after=ftjob-hot0000",
    f"{JOBS}/ftjob-hot0000/events",
    f"{JOBS}/ftjob-hot0000/events?limit=7",
    f"{JOBS}/ftjob-hot0000/events?limit=25",
    f"{JOBS}/ftjob-hot0000/events?limit=7&after=ftevent-hot0010",
    f"{JOBS}/ftjob-hot0000/events?after=ftevent-hot0000",  # after the oldest: an empty page
    f"{JOBS}/ftjob-hot0001/events",
]


@pytest.mark.parametrize("path", READS)
def test_the_lane_answers_every_read_with_the_routes_bytes(servers: dict, path: str) -> None:
    counting = servers["lane"].runtime.hot_reader
    reads_before = counting.reads
    ours, theirs = both(servers, path)
    assert ours.status_code == theirs.status_code == 200, ours.text
    assert ours.content == theirs.content
    assert ours.headers["content-type"] == theirs.headers["content-type"] == "application/json"
    assert_matches_schema(ours.json(), schema_for("GET", path.partition("?")[0], 200))
    assert counting.reads > reads_before, "the lane did not answer"


def test_a_project_without_jobs_reads_an_empty_page_through_the_lane(servers: dict) -> None:
    admin = Admin(servers["lane"].base_url)
    key = admin.create_key(admin.create_project(f"empty-{time.monotonic_ns()}")["id"])["value"]
    counting = servers["lane"].runtime.hot_reader
    reads_before = counting.reads
    ours, theirs = both(servers, JOBS, key)
    assert ours.status_code == theirs.status_code == 200
    assert ours.content == theirs.content
    assert ours.json() == {"object": "list", "data": [], "has_more": False}
    assert counting.reads == reads_before + 1, "the lane did not answer in one read"


def test_pages_follow_one_another_through_the_lane(servers: dict) -> None:
    seen, after = [], None
    while True:
        page = get(
            servers["lane"], f"{JOBS}?limit=5" + (f"&after={after}" if after else ""), servers["key"]
        ).json()
        seen += [job["id"] for job in page["data"]]
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    assert seen == [f"ftjob-hot{n:04d}" for n in reversed(range(12))]


ASIDE = [
    f"{JOBS}/ftjob-nosuchjob",
    f"{JOBS}/ftjob-hot0099",  # another project's job
    f"{JOBS}/ftjob-hot0099/events",
    f"{JOBS}/ftjob-nosuchjob/events",
    f"{JOBS}?limit=0",
    f"{JOBS}?limit=1001",
    f"{JOBS}?limit=ten",
    f"{JOBS}?after=ftjob-nosuchjob",
    f"{JOBS}?after=ftjob-hot0099",
    f"{JOBS}/ftjob-hot0000/events?after=ftevent-nosuch",
    f"{JOBS}/ftjob-hot0001/events?after=ftevent-hot0010",  # another job's event
    f"{JOBS}/ftjob-hot0000/events?limit=-1",
    f"{JOBS}?metadata[team]=search",
    f"{JOBS}?metadata=null&limit=3",
    f"{JOBS}?limit=2&limit=3",
    f"{JOBS}/ftjob-hot0000?unknown=1",
    f"{JOBS}/ftjob-hot%00",
    f"{JOBS}?after=%00",
]


def comparable(response: httpx.Response) -> tuple[int, Any]:
    return response.status_code, response.json()


@pytest.mark.parametrize("path", ASIDE)
def test_what_the_lane_leaves_its_route_answers(servers: dict, path: str) -> None:
    ours, theirs = both(servers, path)
    assert comparable(ours) == comparable(theirs)
    assert ours.status_code in (200, 400, 404), ours.text


@pytest.mark.parametrize("key", [None, "sk-ftg-not-a-key-at-all-0000000000000000"])
def test_a_missing_or_wrong_key_is_refused_by_the_route(servers: dict, key: str | None) -> None:
    ours, theirs = (
        get(servers["lane"], f"{JOBS}/ftjob-hot0000", key),
        get(servers["routes"], f"{JOBS}/ftjob-hot0000", key),
    )
    assert ours.status_code == theirs.status_code == 401
    assert ours.json() == theirs.json()
    assert ours.headers["www-authenticate"] == theirs.headers["www-authenticate"]


def test_a_revoked_key_fails_its_next_read(servers: dict) -> None:
    lane = servers["lane"]
    admin = Admin(lane.base_url)
    project = admin.create_project(f"revoked-{time.monotonic_ns()}")
    key = admin.create_key(project["id"])
    assert get(lane, JOBS, key["value"]).status_code == 200
    admin.revoke(key["id"])
    refused = get(lane, JOBS, key["value"])
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"


async def change_job(database_url: str, job_id: str, **values: Any) -> None:
    engine = db.create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(update(Job).where(Job.id == job_id).values(**values))
    finally:
        await engine.dispose()


def test_a_job_changed_since_it_was_last_shown_is_shown_as_it_is_now(servers: dict) -> None:
    paths = [f"{JOBS}/ftjob-hot0005", f"{JOBS}?limit=8"]
    before = [get(servers["lane"], path, servers["key"]).content for path in paths]
    wait_for(change_job(servers["database_url"], "ftjob-hot0005", user_metadata={"changed": "yes"}))
    for path, shown_before in zip(paths, before, strict=True):
        ours, theirs = both(servers, path)
        assert ours.content == theirs.content != shown_before
        assert b'"metadata":{"changed":"yes"}' in ours.content


def test_a_database_the_lane_cannot_read_leaves_every_read_to_its_route(servers: dict) -> None:
    lane = servers["lane"].runtime
    counting = lane.hot_reader
    lane.hot_reader = UnreadableDatabase()
    try:
        for path in READS:
            ours, theirs = both(servers, path)
            assert ours.status_code == 200 and ours.content == theirs.content
    finally:
        lane.hot_reader = counting


def test_each_read_is_one_request_against_the_rate_limit_whoever_answers_it(servers: dict) -> None:
    lane = servers["lane"]
    key = lane.create_key(f"limited-{time.monotonic_ns()}")
    set_limits(servers["database_url"], key, key={"requests_per_minute": 4})
    answered = [
        get(lane, path, key)
        for path in (
            f"{JOBS}/ftjob-hot0000",  # another project's job to this key: the lane steps aside
            JOBS,
            f"{JOBS}?limit=0",
            f"{JOBS}/ftjob-nosuchjob/events",
            JOBS,
        )
    ]
    assert [response.status_code for response in answered] == [404, 200, 400, 404, 429]
    assert [response.headers.get("x-ratelimit-remaining-requests") for response in answered[:4]] == [
        "3",
        "2",
        "1",
        "0",
    ]
    assert answered[1].json() == {"object": "list", "data": [], "has_more": False}


def test_the_lanes_answers_carry_a_request_id_and_are_counted_under_their_routes(servers: dict) -> None:
    lane = servers["lane"]
    template = f"{JOBS}/{{fine_tuning_job_id}}/events"

    def counted() -> float:
        text = httpx.get(f"{lane.base_url}/metrics").text
        return parse(text).value("ftgate_http_requests_total", method="GET", route=template, status="200")

    before = counted()
    answered = [get(lane, f"{JOBS}/ftjob-hot0000/events?limit=2", servers["key"]) for _ in range(3)]
    assert len({response.headers["x-request-id"] for response in answered}) == 3
    assert counted() - before == 3
