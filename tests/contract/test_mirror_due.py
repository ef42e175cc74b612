"""Mirroring the jobs due for a look (workers/upstream/mirror_due.py) against the scripted upstream,
on both databases: the jobs a batch looks at are recorded exactly once each, one job whose upstream
fails or whose record cannot be written holds back none of the others, and two batches never take
the same job."""

import asyncio
import io
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import event, select, update

from gateway import migrations
from gateway.fine_tuning import mirroring, repository, scheduling
from gateway.models import Job, JobEvent, JobMirror, Project
from gateway.pagination import fetch_page
from gateway.runtime import Runtime, build_runtime
from gateway.settings import Settings
from tests.support.fake_upstream import FakeUpstream
from tests.support.jobs import chat_lines
from tests.support.postgres import temporary_database
from tests.support.upstream import UPSTREAM, UPSTREAM_KEY, mirrored_texts, supervised, upstream_settings
from workers.upstream.mirror_due import mirror_due_jobs

PROJECT, ORGANIZATION = "proj_rounds", "org-rounds"
FINISHED = {"succeeded", "failed", "cancelled"}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    timings = {"step_seconds": 0.05, "validate_seconds": 0.05, "queue_seconds": 0.05}
    with FakeUpstream(api_key=UPSTREAM_KEY, **timings) as up:
        yield up


@pytest.fixture(autouse=True)
def no_faults_left(fake: FakeUpstream) -> Iterator[None]:
    yield
    fake.clear_faults()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path, fake: FakeUpstream) -> Iterator[Settings]:
    with ExitStack() as stack:
        database_url = "" if request.param == "sqlite" else stack.enter_context(temporary_database())
        gateway_settings = upstream_settings(tmp_path, database_url, fake.base_url)
        migrations.upgrade(gateway_settings.database_url)
        yield gateway_settings


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    built = build_runtime(settings, lambda *_: None)
    now = int(time.time())
    async with built.transaction() as session:
        session.add(
            Project(id=PROJECT, name=PROJECT, slug=PROJECT, organization_id=ORGANIZATION, created_at=now)
        )
    try:
        yield built
    finally:
        await built.close()


def job_row(job_id: str, upstream_status: str | None = None, **values: object) -> Job:
    """An upstream job due for a look, with its mirror."""
    now = int(time.time())
    row: dict[str, object] = {
        "id": job_id,
        "project_id": PROJECT,
        "organization_id": ORGANIZATION,
        "model": "gpt-4o-mini",
        "base_model": "gpt-4o-mini",
        "training_file": "file-rounds",
        "status": "queued",
        "created_at": now,
        "updated_at": now,
        "method": supervised(1),
        "seed": 7,
        "result_files": [],
        "provider": UPSTREAM,
        "mirror": JobMirror(upstream_status=upstream_status, next_look_at_ms=0),
    }
    return Job(**(row | values))


async def sent_jobs(runtime: Runtime, count: int) -> list[str]:
    """`count` jobs already created upstream (one epoch of ten steps each), due for a look."""
    provider = runtime.providers[UPSTREAM]
    file_id = await provider.upload_file("elle.jsonl", io.BytesIO(chat_lines(10)), "fine-tune")
    job_ids = [f"ftjob-round{index}" for index in range(count)]
    async with runtime.transaction() as session:
        for job_id in job_ids:
            request = {"model": "gpt-4o-mini", "training_file": file_id, "method": supervised(1)}
            upstream = await provider.submit(request | {"metadata": {"ftgate_job_id": job_id}})
            session.add(job_row(job_id, upstream_id=upstream.id, upstream_status=upstream.status))
    return job_ids


async def stored(runtime: Runtime, job_id: str) -> Job:
    async with runtime.sessions() as session:
        job = await repository.get_any(session, job_id)
    assert job is not None
    return job


async def messages(runtime: Runtime, job_id: str) -> list[str]:
    async with runtime.sessions() as session:
        query = select(JobEvent.message).where(JobEvent.job_id == job_id).order_by(JobEvent.seq)
        return list((await session.scalars(query)).all())


async def mirror_until_finished(runtime: Runtime, job_ids: list[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while {(await stored(runtime, job_id)).status for job_id in job_ids} - FINISHED:
        assert time.monotonic() < deadline, "the batches did not see the jobs through"
        await mirror_due_jobs(runtime)
        await asyncio.sleep(0.05)


async def test_batches_mirror_every_job_once_and_in_order(runtime: Runtime, fake: FakeUpstream):
    job_ids = await sent_jobs(runtime, 5)
    await mirror_until_finished(runtime, job_ids)
    for job_id in job_ids:
        job = await stored(runtime, job_id)
        assert job.status == "succeeded"
        assert job.fine_tuned_model == fake.job(job.upstream_id)["fine_tuned_model"]
        assert job.locked_until is None and job.mirror.next_look_at_ms is None
        assert await messages(runtime, job_id) == mirrored_texts(fake, job.upstream_id)


async def test_a_failing_upstream_read_holds_back_no_other_job(runtime: Runtime, fake: FakeUpstream):
    failing, *others = await sent_jobs(runtime, 4)
    upstream_id = (await stored(runtime, failing)).upstream_id
    fake.add_fault("GET", rf"/fine_tuning/jobs/{upstream_id}/events$", "status", status=500, times=3)
    await mirror_due_jobs(runtime)
    job = await stored(runtime, failing)
    assert (job.mirror.upstream_failures, job.locked_until, job.mirror.upstream_event_cursor) == (
        1,
        None,
        None,
    )
    assert job.mirror.next_look_at_ms > time.time() * 1000
    for job_id in others:
        looked_at = await stored(runtime, job_id)
        assert (looked_at.mirror.upstream_failures, looked_at.locked_until) == (0, None)
        assert looked_at.mirror.upstream_event_cursor is not None
    await mirror_until_finished(runtime, [failing, *others])
    assert await messages(runtime, failing) == mirrored_texts(fake, job.upstream_id)


async def test_a_look_that_cannot_be_recorded_holds_back_no_other_job(
    runtime: Runtime, fake: FakeUpstream, monkeypatch: pytest.MonkeyPatch
):
    broken, *others = await sent_jobs(runtime, 4)
    add_events = mirroring._add_events

    def add_events_unless_broken(session, job, found, stored):
        if job.id == broken:
            raise ValueError("an event this job's upstream sent cannot be stored")
        return add_events(session, job, found, stored)

    monkeypatch.setattr(mirroring, "_add_events", add_events_unless_broken)
    await mirror_due_jobs(runtime)
    job = await stored(runtime, broken)
    assert (job.locked_until, job.mirror.upstream_event_cursor) == (None, None)
    assert job.mirror.next_look_at_ms > (time.time() + runtime.settings.job_lease_seconds / 2) * 1000
    for job_id in others:
        assert (await stored(runtime, job_id)).mirror.upstream_event_cursor is not None
    monkeypatch.undo()
    async with runtime.transaction() as session:
        await session.execute(update(JobMirror).where(JobMirror.job_id == broken).values(next_look_at_ms=0))
    await mirror_until_finished(runtime, [broken, *others])
    assert await messages(runtime, broken) == mirrored_texts(fake, job.upstream_id)


async def test_two_batches_never_claim_the_same_job(runtime: Runtime):
    async with runtime.transaction() as session:
        for index in range(30):
            session.add(job_row(f"ftjob-due{index}", upstream_id=f"up-{index}", upstream_status="running"))

    async def claim() -> set[str]:
        async with runtime.transaction() as session:
            jobs = await scheduling.claim_due_looks(
                session, int(time.time() * 1000), lease_seconds=60, grace_ms=60_000, limit=20
            )
        return {job.id for job in jobs}

    first, second = await asyncio.gather(claim(), claim())
    assert not first & second
    assert len(first | second) == 30


async def test_a_tick_sends_jobs_that_need_more_than_a_look_to_their_own_task(runtime: Runtime):
    async with runtime.transaction() as session:
        session.add(job_row("ftjob-unsent"))
        session.add(
            job_row("ftjob-to-cancel", status="cancelled", upstream_id="up-1", upstream_status="running")
        )
        session.add(job_row("ftjob-to-resume", upstream_id="up-2", upstream_status="paused"))
        session.add(job_row("ftjob-running", status="running", upstream_id="up-3", upstream_status="running"))
    now_ms = int(time.time() * 1000)
    async with runtime.transaction() as session:
        claimed = await scheduling.claim_due_looks(session, now_ms, 60, grace_ms=60_000, limit=10)
        taken = await scheduling.take_due_looks(session, now_ms, grace_ms=60_000, limit=10)
    assert [job.id for job in claimed] == ["ftjob-running"]
    assert sorted(taken) == ["ftjob-to-cancel", "ftjob-to-resume", "ftjob-unsent"]


async def test_finished_local_and_imported_jobs_are_never_due(runtime: Runtime):
    async with runtime.transaction() as session:
        session.add(job_row("ftjob-due", upstream_id="up-1", upstream_status="paused"))
        finished = job_row(
            "ftjob-finished", status="succeeded", upstream_id="up-2", upstream_status="succeeded"
        )
        finished.mirror.next_look_at_ms = None
        session.add(finished)
        session.add(job_row("ftjob-local", provider="local", mirror=None))
        session.add(job_row("ftjob-imported", imported_from="https://api.openai.com/v1", mirror=None))
    now_ms = int(time.time() * 1000)
    async with runtime.transaction() as session:
        taken = await scheduling.take_due_looks(session, now_ms, grace_ms=60_000, limit=10)
        claimed = await scheduling.claim_due_looks(session, now_ms, 60, grace_ms=60_000, limit=10)
    assert (taken, claimed) == (["ftjob-due"], [])
    assert (await stored(runtime, "ftjob-due")).mirror.next_look_at_ms == now_ms + 60_000
    assert (await stored(runtime, "ftjob-local")).mirror is None


async def test_a_page_of_jobs_loads_their_mirrors_in_one_more_query(runtime: Runtime):
    async with runtime.transaction() as session:
        for index in range(30):
            session.add(job_row(f"ftjob-page{index}", upstream_id=f"up-{index}", upstream_status="running"))
        session.add(job_row("ftjob-page-local", provider="local", mirror=None))
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with runtime.sessions() as session:
            query = repository.list_query(PROJECT, {}, without_metadata=False)
            jobs, has_more = await fetch_page(session, query, Job.seq, after_seq=None, limit=100)
            mirrors = {job.id: job.mirror for job in jobs}
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)
    assert (len(jobs), has_more) == (31, False)
    assert mirrors["ftjob-page-local"] is None
    assert {mirror.upstream_status for job_id, mirror in mirrors.items() if job_id != "ftjob-page-local"} == {
        "running"
    }
    assert len(statements) == 2  # the page, then every mirror on it
