"""Upstream jobs in production wiring: real Celery worker processes (with beat) on Redis and
Postgres send jobs to a scripted upstream and mirror them back exactly once, whatever happens to
the workers or to Redis meanwhile."""

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import openai
import pytest
import redis
from sqlalchemy import select

from gateway import db
from gateway.models import Job, JobMirror
from gateway.settings import Settings
from tests.support.celery_worker import Worker
from tests.support.fake_upstream import FakeUpstream
from tests.support.jobs import wait_for_status
from tests.support.postgres import temporary_database
from tests.support.private_redis import PrivateRedis
from tests.support.redis_isolation import REDIS_KEY_PREFIX, REDIS_URL
from tests.support.server import RunningServer, serve
from tests.support.upstream import (
    FAST_POLLING,
    UPSTREAM_KEY,
    chronological_events,
    create_job,
    mirrored_texts,
    the_upstream_job,
    upstream_jobs_of,
    upstream_settings,
    upstream_spec,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
JOB_LEASE_SECONDS = 3
CREATE = r"/fine_tuning/jobs$"
FINISHED = {"succeeded", "failed", "cancelled"}
# 3 epochs of the 10 Elle limericks: 30 steps of 0.6 s, long enough to kill a worker 3 times.
EPOCHS = 3
STEPS = EPOCHS * 10  # the Elle file's 10 examples an epoch
SLOW_STEP_SECONDS = "0.6"
KILLS = 3

T = TypeVar("T")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream(api_key=UPSTREAM_KEY, step_seconds=0.02, validate_seconds=0.1, queue_seconds=0.1) as up:
        yield up


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, fake: FakeUpstream) -> Iterator[Settings]:
    with temporary_database() as database_url:
        gateway_settings = upstream_settings(
            tmp_path_factory.mktemp("upstream-workers"),
            database_url,
            fake.base_url,
            # Patient enough that a create the fake holds is still in flight when its worker dies.
            upstreams=[upstream_spec(fake.base_url, timeout_seconds=10.0)],
            queue="celery",
            redis_url=REDIS_URL,
            redis_key_prefix=REDIS_KEY_PREFIX,
            celery_queue=f"ftgate-test-{secrets.token_hex(4)}",
            celery_training_queue=f"ftgate-test-training-{secrets.token_hex(4)}",
            job_lease_seconds=JOB_LEASE_SECONDS,
        )
        yield gateway_settings
    with contextlib.suppress(redis.RedisError):  # the poll ticks no worker is left to take
        redis.Redis.from_url(REDIS_URL).delete(
            REDIS_KEY_PREFIX + gateway_settings.celery_queue,
            REDIS_KEY_PREFIX + gateway_settings.celery_training_queue,
        )


@pytest.fixture(scope="module")
def gateway(settings: Settings) -> Iterator[RunningServer]:
    with serve(settings) as running:
        yield running


@pytest.fixture(autouse=True)
def no_faults_left(fake: FakeUpstream) -> Iterator[None]:
    yield
    fake.clear_faults()


def worker_env(settings: Settings) -> dict[str, str]:
    """The gateway's settings beyond the queues' place, as FTGATE_* variables for a worker."""
    upstreams = [
        spec.model_dump(mode="json")
        | {
            "api_key": spec.api_key.get_secret_value(),
            "webhook_secret": spec.webhook_secret and spec.webhook_secret.get_secret_value(),
        }
        for spec in settings.upstreams
    ]
    return {
        "FTGATE_RECONCILE_INTERVAL_SECONDS": str(settings.reconcile_interval_seconds),
        "FTGATE_JOB_LEASE_SECONDS": str(settings.job_lease_seconds),
        "FTGATE_UPSTREAMS": json.dumps(upstreams),
        "FTGATE_BASE_MODELS": json.dumps([spec.model_dump(mode="json") for spec in settings.base_models]),
        **{f"FTGATE_{name.upper()}": str(getattr(settings, name)) for name in FAST_POLLING},
    }


@contextlib.contextmanager
def worker_pool(settings: Settings) -> Iterator[Callable[[], Worker]]:
    """Starts workers on demand; every one still running is killed at the end."""
    workers: list[Worker] = []

    def start() -> Worker:
        workers.append(Worker(settings, worker_env(settings), with_beat=True))
        return workers[-1]

    try:
        yield start
    finally:
        for worker in workers:
            worker.kill()


@pytest.fixture
def start_worker(settings: Settings) -> Iterator[Callable[[], Worker]]:
    with worker_pool(settings) as start:
        yield start


def sdk(gateway: RunningServer) -> openai.OpenAI:
    """An SDK client of a new project."""
    key = gateway.create_key(f"p-{secrets.token_hex(4)}")
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=0)


@pytest.fixture
def make_client(gateway: RunningServer) -> Iterator[Callable[[], openai.OpenAI]]:
    """Each call makes a new project with its own key, and an SDK client that uses it."""
    clients: list[openai.OpenAI] = []

    def make() -> openai.OpenAI:
        clients.append(sdk(gateway))
        return clients[-1]

    yield make
    for made in clients:
        made.close()


@pytest.fixture
def client(make_client: Callable[[], openai.OpenAI]) -> openai.OpenAI:
    return make_client()


def wait_until(condition: Callable[[], T], what: str, timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"waited {timeout:g}s in vain until {what}"
        time.sleep(0.05)
    return value


def started_polling(start_worker: Callable[[], Worker], fake: FakeUpstream, upstream_id: str) -> Worker:
    """A new worker, once it has asked the fake about the job."""
    polls = fake.requests_to("GET", rf"/fine_tuning/jobs/{upstream_id}")
    worker = start_worker()
    wait_until(lambda: fake.requests_to("GET", rf"/fine_tuning/jobs/{upstream_id}") > polls, "a worker polls")
    return worker


def upstream_steps(fake: FakeUpstream, upstream_id: str) -> int:
    return sum(1 for event in fake.events(upstream_id) if event["type"] == "metrics")


def steps_seen(client: openai.OpenAI, job_id: str) -> int:
    """How many of the job's metrics events ftgate shows."""
    return sum(
        1 for event in client.fine_tuning.jobs.list_events(job_id, limit=1000) if event.type == "metrics"
    )


def stored_job(settings: Settings, job_id: str) -> Any:
    """The job's upstream_id and upstream_submitted_at, as the database has them now."""

    async def read() -> Any:
        engine = db.create_engine(settings.database_url)
        try:
            async with engine.connect() as connection:
                query = (
                    select(Job.upstream_id, JobMirror.upstream_submitted_at)
                    .join(JobMirror, JobMirror.job_id == Job.id)
                    .where(Job.id == job_id)
                )
                return (await connection.execute(query)).one()
        finally:
            await engine.dispose()

    return asyncio.run(read())


def assert_mirrored_exactly_once(
    client: openai.OpenAI, fake: FakeUpstream, job_id: str, creates_before: int, steps: int = STEPS
) -> None:
    """Succeeded; sent upstream once; every upstream event and step there once, in order."""
    done = wait_for_status(client, job_id, FINISHED, timeout=120)
    assert done.status == "succeeded", done.error
    upstream = the_upstream_job(fake, job_id)
    assert fake.requests_to("POST", CREATE) - creates_before == 1, "the create was sent more than once"
    assert done.fine_tuned_model == upstream["fine_tuned_model"]

    events = chronological_events(client, job_id)
    messages = [event.message for event in events]
    assert messages[:3] == [
        f"Created fine-tuning job: {job_id}",
        f"Validating training file: {done.training_file}",
        "Files validated, moving job to queued state",
    ]
    assert messages[3:] == mirrored_texts(fake, upstream["id"])
    assert [event.data["step"] for event in events if event.type == "metrics"] == list(range(1, steps + 1))


def assert_checkpoints_mirrored(client: openai.OpenAI, fake: FakeUpstream, job_id: str) -> None:
    upstream = the_upstream_job(fake, job_id)
    checkpoints = [
        (c.step_number, c.fine_tuned_model_checkpoint)
        for c in client.fine_tuning.jobs.checkpoints.list(job_id)
    ]
    expected = [(c["step_number"], c["fine_tuned_model_checkpoint"]) for c in upstream["checkpoints"]]
    assert sorted(checkpoints) == sorted(expected) != []
    assert max(checkpoints)[1] == upstream["fine_tuned_model"]


def test_a_worker_killed_mid_job_again_and_again_only_delays_it(
    client: openai.OpenAI, fake: FakeUpstream, start_worker
):
    creates_before = fake.requests_to("POST", CREATE)
    job = create_job(client, EPOCHS, metadata={"fake_step_seconds": SLOW_STEP_SECONDS})
    worker = start_worker()
    kills = seen_at_last_kill = 0
    deadline = time.monotonic() + 180
    while kills < KILLS:
        assert time.monotonic() < deadline, f"only {kills} kills in 180s"
        seen = steps_seen(client, job.id)
        if seen >= seen_at_last_kill + 2:  # this worker has mirrored a few more steps
            upstream = the_upstream_job(fake, job.id)
            assert upstream["status"] == "running", f"the job left running after {kills} kills"
            # The job waits while the next worker starts, however long a loaded machine takes.
            fake.stop_clock(upstream["id"])
            worker.kill()
            kills += 1
            seen_at_last_kill = seen
            worker = started_polling(start_worker, fake, upstream["id"])
            fake.start_clock(upstream["id"])
        time.sleep(0.05)
    assert_mirrored_exactly_once(client, fake, job.id, creates_before)
    assert_checkpoints_mirrored(client, fake, job.id)


@pytest.fixture(scope="module")
def create_lost_with_its_worker(
    gateway: RunningServer, fake: FakeUpstream, settings: Settings
) -> Iterator[tuple[openai.OpenAI, str, int]]:
    """A job whose worker was SIGKILLed while the fake held its create: the fake made the job
    anyway and finished it, ftgate never heard back, and a fresh worker took over."""
    with sdk(gateway) as client:
        creates_before = fake.requests_to("POST", CREATE)
        with worker_pool(settings) as start_worker:
            fake.add_fault("POST", CREATE, "timeout", seconds=4)  # then the fake makes the job
            try:
                job = create_job(client, 1)
                worker = start_worker()
                wait_until(lambda: stored_job(settings, job.id).upstream_submitted_at, "the create is sent")
                time.sleep(0.5)  # for the create to reach the fake, which holds it
                worker.kill()
                [upstream] = wait_until(lambda: upstream_jobs_of(fake, job.id), "the fake made the job")
            finally:
                fake.clear_faults()
            assert stored_job(settings, job.id).upstream_id is None, "the killed worker heard back"
            wait_until(lambda: fake.job(upstream["id"])["status"] == "succeeded", "the job is done upstream")
            start_worker()
            wait_for_status(client, job.id, FINISHED, timeout=120)
        yield client, job.id, creates_before


def test_a_worker_killed_while_its_create_is_in_flight_leaves_one_upstream_job(
    create_lost_with_its_worker: tuple[openai.OpenAI, str, int], fake: FakeUpstream
):
    client, job_id, creates_before = create_lost_with_its_worker
    assert_mirrored_exactly_once(client, fake, job_id, creates_before, steps=10)


def test_a_job_found_finished_upstream_gets_its_checkpoints(
    create_lost_with_its_worker: tuple[openai.OpenAI, str, int], fake: FakeUpstream
):
    client, job_id, _ = create_lost_with_its_worker
    assert_checkpoints_mirrored(client, fake, job_id)


def test_a_finished_jobs_model_answers_its_own_project_only(
    client: openai.OpenAI, make_client: Callable[[], openai.OpenAI], start_worker
):
    job = create_job(client, 1)
    start_worker()
    done = wait_for_status(client, job.id, FINISHED, timeout=120)
    assert done.status == "succeeded", done.error
    model = done.fine_tuned_model
    messages = [{"role": "user", "content": "Hi"}, {"role": "user", "content": "Tell me about Gallium"}]
    answer = client.chat.completions.create(model=model, messages=messages)
    assert answer.choices[0].message.content == f"[{model}] Tell me about Gallium"
    with pytest.raises(openai.NotFoundError) as refused:
        make_client().chat.completions.create(model=model, messages=messages)
    assert refused.value.code == "model_not_found"


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_a_redis_restarted_mid_job_only_delays_it(
    settings: Settings, fake: FakeUpstream, private_redis: PrivateRedis
):
    """On a Redis of the test's own, which it stops while tests beside it go on using theirs."""
    own = settings.model_copy(update={"redis_url": private_redis.url})
    with serve(own) as gateway, sdk(gateway) as client, worker_pool(own) as start_worker:
        creates_before = fake.requests_to("POST", CREATE)
        job = create_job(client, EPOCHS, metadata={"fake_step_seconds": "0.3"})
        start_worker()
        wait_until(lambda: steps_seen(client, job.id) >= 3, "ftgate shows the job's first steps")
        upstream_id = the_upstream_job(fake, job.id)["id"]
        private_redis.stop()
        assert fake.job(upstream_id)["status"] == "running"
        down_at = upstream_steps(fake, upstream_id)
        wait_until(lambda: upstream_steps(fake, upstream_id) >= down_at + 3, "the job ran on upstream")
        private_redis.start()
        assert fake.job(upstream_id)["status"] == "running", "the job ended upstream while Redis was down"
        assert_mirrored_exactly_once(client, fake, job.id, creates_before)
        assert_checkpoints_mirrored(client, fake, job.id)
