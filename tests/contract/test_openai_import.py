"""`ftgate openai import` against a scripted OpenAI organisation with a realistic history: every
job, event, checkpoint and result file copied under OpenAI's ids and served as OpenAI served
them; twice adds nothing, later adds only what is new; training files matched from a folder;
imported jobs are history that ftgate never runs; other projects see none of it."""

import asyncio
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from gateway import cli
from gateway.models import Job, JobCheckpoint, JobEvent, Project, StoredFile
from gateway.openai_import import client as import_client
from gateway.openai_import.command import run_import
from gateway.openai_import.report import ImportReport
from gateway.settings import get_settings
from tests.conftest import sdk_client
from tests.support.admin import Admin
from tests.support.fake_upstream import FakeUpstream
from tests.support.server import RunningServer
from tests.support.upstream import UPSTREAM_KEY, upstream_server, upstream_spec
from tests.support.wire import WireChecker

STATUSES = ("succeeded", "failed", "cancelled", "running", "queued", "validating_files")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream(api_key=UPSTREAM_KEY) as up:
        yield up


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fake: FakeUpstream
) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp(f"import-{request.param}")
    with upstream_server(data_dir, request.param, fake) as running:
        yield running


@pytest.fixture
def history(fake: FakeUpstream) -> dict[str, str]:
    """A fresh organisation: one job in each status; status -> job id."""
    fake.reset()
    return fake.seed_history()


@pytest.fixture
def upstream(fake: FakeUpstream) -> Iterator[openai.OpenAI]:
    """The organisation as the official SDK sees it at OpenAI."""
    with openai.OpenAI(base_url=fake.base_url, api_key=UPSTREAM_KEY, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def project(server: RunningServer, wire: WireChecker) -> Iterator[tuple[str, openai.OpenAI]]:
    name = f"acme-{secrets.token_hex(4)}"
    client = sdk_client(server, server.create_key(name), wire)
    yield name, client
    client.close()


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read the upstream's lists 7 items a page, so that every list takes several."""
    monkeypatch.setattr(import_client, "PAGE", 7)


def do_import(
    server: RunningServer, fake: FakeUpstream, name: str, folder: Path | None = None
) -> ImportReport:
    return asyncio.run(run_import(server.settings, name, upstream_spec(fake.base_url), folder))


def rows(server: RunningServer, name: str) -> dict[str, int]:
    """The project's rows of each kind, counted in the database."""

    async def count() -> dict[str, int]:
        engine = create_async_engine(server.settings.database_url)
        try:
            async with engine.connect() as connection:
                project_id = (
                    await connection.execute(select(Project.id).where(Project.name == name))
                ).scalar()
                jobs = select(Job.id).where(Job.project_id == project_id)
                queries = {
                    "jobs": select(func.count()).select_from(Job).where(Job.project_id == project_id),
                    "events": select(func.count()).select_from(JobEvent).where(JobEvent.job_id.in_(jobs)),
                    "checkpoints": select(func.count())
                    .select_from(JobCheckpoint)
                    .where(JobCheckpoint.job_id.in_(jobs)),
                    "files": select(func.count())
                    .select_from(StoredFile)
                    .where(StoredFile.project_id == project_id),
                }
                return {
                    kind: (await connection.execute(query)).scalar_one() for kind, query in queries.items()
                }
        finally:
            await engine.dispose()

    return asyncio.run(count())


def events_as_served(events: list) -> list[dict]:
    """Events as ftgate serves them: a `data` OpenAI leaves null is `{}` (the spec's object)."""
    return [event.model_dump() | {"data": event.data or {}} for event in events]


def test_every_job_is_copied_with_its_events_checkpoints_and_files(
    server: RunningServer,
    fake: FakeUpstream,
    history: dict[str, str],
    upstream: openai.OpenAI,
    project: tuple[str, openai.OpenAI],
    small_pages: None,
):
    name, client = project
    report = do_import(server, fake, name)
    assert sorted(report.jobs_added) == sorted(history.values()) and not report.skipped

    theirs = list(upstream.fine_tuning.jobs.list(limit=100))
    assert [job.id for job in client.fine_tuning.jobs.list(limit=2)] == [job.id for job in theirs]
    for job in theirs:
        assert client.fine_tuning.jobs.retrieve(job.id).model_dump() == job.model_dump()
        ours = list(client.fine_tuning.jobs.list_events(job.id, limit=5))
        assert events_as_served(ours) == events_as_served(
            list(upstream.fine_tuning.jobs.list_events(job.id, limit=100))
        )
        ours_checkpoints = list(client.fine_tuning.jobs.checkpoints.list(job.id, limit=1))
        assert [c.model_dump() for c in ours_checkpoints] == [
            c.model_dump() for c in upstream.fine_tuning.jobs.checkpoints.list(job.id, limit=100)
        ]
    done = upstream.fine_tuning.jobs.retrieve(history["succeeded"])
    assert len(list(upstream.fine_tuning.jobs.list_events(done.id, limit=100))) > 100  # several pages
    assert len(list(client.fine_tuning.jobs.checkpoints.list(done.id))) == 3
    assert client.fine_tuning.jobs.retrieve(history["failed"]).error.code == "server_error"

    result_id = done.result_files[0]
    assert client.files.content(result_id).read() == fake.file_content(result_id)
    assert client.files.retrieve(result_id).model_dump() == upstream.files.retrieve(result_id).model_dump()
    for job in theirs:
        for file_id in filter(None, (job.training_file, job.validation_file)):
            assert (
                client.files.retrieve(file_id).model_dump() == upstream.files.retrieve(file_id).model_dump()
            )
    training = {job.training_file for job in theirs} | {done.validation_file}
    assert {missing.id for missing in report.missing} == training
    with pytest.raises(openai.BadRequestError) as refused:
        client.files.content(done.training_file)
    assert refused.value.code == "file_content_missing"


def test_importing_twice_adds_nothing_and_later_adds_only_what_is_new(
    server: RunningServer, fake: FakeUpstream, history: dict[str, str], project: tuple[str, openai.OpenAI]
):
    name, client = project
    do_import(server, fake, name)
    first = rows(server, name)
    assert first["jobs"] == len(STATUSES)
    again = do_import(server, fake, name)
    assert rows(server, name) == first
    assert again.jobs_added == [] and again.events_added == 0 and again.checkpoints_added == 0
    assert again.files_added == []

    running = history["running"]
    before = len(list(client.fine_tuning.jobs.list_events(running, limit=100)))
    fake.add_steps(running, 3)  # steps 7-9: one more checkpoint, at step 8
    new_job = fake.add_history_job("succeeded", name="later")
    later = do_import(server, fake, name)
    assert later.jobs_added == [new_job]
    # Jobs still at work are read again; finished ones are complete.
    assert sorted(later.jobs_updated) == sorted(history[s] for s in ("running", "queued", "validating_files"))
    new_events = len(fake.events(new_job)) + 3
    new_checkpoints = len(fake.job(new_job)["checkpoints"]) + 1
    assert rows(server, name) == {
        "jobs": first["jobs"] + 1,
        "events": first["events"] + new_events,
        "checkpoints": first["checkpoints"] + new_checkpoints,
        "files": first["files"] + 2,  # the new job's training file and its results
    }
    assert len(list(client.fine_tuning.jobs.list_events(running, limit=100))) == before + 3
    assert client.fine_tuning.jobs.list(limit=1).data[0].id == new_job  # newest first
    assert rows(server, name) == rows(server, name) and do_import(server, fake, name).events_added == 0


def test_training_files_come_from_a_folder_and_the_missing_ones_are_named(
    server: RunningServer,
    fake: FakeUpstream,
    history: dict[str, str],
    upstream: openai.OpenAI,
    project: tuple[str, openai.OpenAI],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    name, client = project
    jobs = {status: upstream.fine_tuning.jobs.retrieve(job_id) for status, job_id in history.items()}
    by_name = jobs["succeeded"].training_file
    by_id = jobs["failed"].training_file
    by_size = jobs["cancelled"].training_file
    (tmp_path / upstream.files.retrieve(by_name).filename).write_bytes(fake.file_content(by_name))
    (tmp_path / f"{by_id}.jsonl").write_bytes(fake.file_content(by_id))
    (tmp_path / "renamed-by-someone.jsonl").write_bytes(fake.file_content(by_size))
    (tmp_path / "unrelated.jsonl").write_bytes(b'{"messages": []}\n')

    # As an operator runs it: OpenAI's key in OPENAI_API_KEY, the organisation at --base-url.
    monkeypatch.setenv("FTGATE_DATA_DIR", str(server.settings.data_dir))
    monkeypatch.setenv("FTGATE_DATABASE_URL", server.settings.database_url)
    monkeypatch.setenv("OPENAI_API_KEY", UPSTREAM_KEY)
    get_settings.cache_clear()
    try:
        cli.main(
            [
                "openai",
                "import",
                "--project",
                name,
                "--base-url",
                fake.base_url,
                "--training-files",
                str(tmp_path),
            ]
        )
    finally:
        get_settings.cache_clear()
    printed = capsys.readouterr().out
    attached = {by_name, by_id, by_size}
    for file_id in attached:
        assert f"attached {file_id} <- " in printed
        assert client.files.content(file_id).read() == fake.file_content(file_id)
        assert client.files.retrieve(file_id).model_dump() == upstream.files.retrieve(file_id).model_dump()
    still_missing = {jobs[s].training_file for s in ("running", "queued", "validating_files")}
    still_missing.add(jobs["succeeded"].validation_file)
    assert {
        line.split()[1] for line in printed.splitlines() if line.strip().startswith("MISSING")
    } == still_missing
    with pytest.raises(openai.BadRequestError) as refused:
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=jobs["queued"].training_file)
    assert refused.value.code == "file_content_missing"


def test_imported_jobs_are_history_that_ftgate_never_runs(
    server: RunningServer,
    fake: FakeUpstream,
    history: dict[str, str],
    upstream: openai.OpenAI,
    project: tuple[str, openai.OpenAI],
):
    name, client = project
    do_import(server, fake, name)
    imported_at = time.time()
    for status in ("running", "queued", "validating_files"):
        for act in (
            client.fine_tuning.jobs.cancel,
            client.fine_tuning.jobs.pause,
            client.fine_tuning.jobs.resume,
        ):
            with pytest.raises(openai.BadRequestError) as refused:
                act(history[status])
            assert refused.value.code == "imported_job"
            assert "imported" in refused.value.message
    time.sleep(2.5)  # reconciler and poller ticks (1 s and 0.1 s here) come and go
    assert not [r for r in fake.requests if r["at"] > imported_at], "a worker took up an imported job"
    for status, job_id in history.items():
        assert client.fine_tuning.jobs.retrieve(job_id).status == status

    # The old model still answers, through the upstream the import came from.
    model = upstream.fine_tuning.jobs.retrieve(history["succeeded"]).fine_tuned_model
    answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hello"}])
    assert answer.choices[0].message.content == f"[{model}] Hello"


def test_another_project_sees_none_of_it(
    server: RunningServer,
    fake: FakeUpstream,
    history: dict[str, str],
    upstream: openai.OpenAI,
    project: tuple[str, openai.OpenAI],
    make_client,
):
    name, _ = project
    report = do_import(server, fake, name)
    other = make_client()
    assert other.fine_tuning.jobs.list().data == []
    assert other.files.list().data == []
    done = upstream.fine_tuning.jobs.retrieve(history["succeeded"])
    with pytest.raises(openai.NotFoundError):
        other.fine_tuning.jobs.retrieve(done.id)
    with pytest.raises(openai.NotFoundError):
        other.fine_tuning.jobs.list_events(done.id)
    with pytest.raises(openai.NotFoundError):
        other.files.retrieve(done.result_files[0])
    with pytest.raises(openai.NotFoundError):
        other.chat.completions.create(
            model=done.fine_tuned_model, messages=[{"role": "user", "content": "Hi"}]
        )
    # The same organisation into a second project: its jobs are already another project's.
    second = f"acme-{secrets.token_hex(4)}"
    elsewhere = do_import(server, fake, second)
    assert elsewhere.jobs_added == [] and len(elsewhere.skipped) == len(report.jobs_added)


def test_the_admin_api_runs_the_same_import(
    server: RunningServer, fake: FakeUpstream, history: dict[str, str], wire: WireChecker, tmp_path: Path
):
    admin = Admin(server.base_url)
    project = admin.create_project(f"acme-{secrets.token_hex(4)}")
    done = fake.job(history["succeeded"])
    (tmp_path / "train.jsonl").write_bytes(fake.file_content(done["training_file"]))
    path = f"/projects/{project['id']}/openai_import"
    result = admin.call("POST", path, json={"upstream": "fake", "training_files": str(tmp_path)})
    assert sorted(result["jobs_added"]) == sorted(history.values())
    assert result["attached"] == {done["training_file"]: str(tmp_path / "train.jsonl")}
    assert done["training_file"] not in {missing["id"] for missing in result["missing"]}
    again = admin.call("POST", path, json={"upstream": "fake"})
    assert again["jobs_added"] == [] and again["events_added"] == 0 and again["jobs_unchanged"] == 3
    refused = admin.http.post(path, json={"upstream": "nowhere"})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "upstream"
    with sdk_client(server, admin.create_key(project["id"])["value"], wire) as client:
        assert client.fine_tuning.jobs.retrieve(done["id"]).fine_tuned_model == done["fine_tuned_model"]
