"""Production wiring: gateway replicas and real Celery worker processes on Redis and Postgres."""

import asyncio
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import redis
from sqlalchemy import select

from gateway import artifacts
from gateway.models import Job
from gateway.runtime import build_runtime
from gateway.settings import Settings
from tests.conftest import TINY_MODEL
from tests.support.celery_worker import Worker
from tests.support.evals import qa_eval, wait_for_run
from tests.support.jobs import (
    chat_lines,
    many_examples,
    metrics_events,
    upload,
    wait_for_status,
    wait_until_validated,
)
from tests.support.parked import PARKED, PARKED_ENV
from tests.support.postgres import temporary_database
from tests.support.redis_isolation import REDIS_KEY_PREFIX, REDIS_URL
from tests.support.server import RunningServer, serve

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
JOB_LEASE_SECONDS = 3


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Iterator[Settings]:
    data_dir = tmp_path_factory.mktemp("celery")
    (data_dir / "models").mkdir()
    (data_dir / "models" / TINY_MODEL).symlink_to(tiny_model)
    with temporary_database() as database_url:
        yield Settings(
            data_dir=data_dir,
            database_url=database_url,
            queue="celery",
            redis_url=REDIS_URL,
            redis_key_prefix=REDIS_KEY_PREFIX,
            celery_queue=f"ftgate-test-{secrets.token_hex(4)}",
            celery_training_queue=f"ftgate-test-training-{secrets.token_hex(4)}",
            reconcile_interval_seconds=1.0,
            **PARKED,
        )


@pytest.fixture(scope="module")
def gateway(settings: Settings) -> Iterator[RunningServer]:
    with serve(settings) as running:
        yield running


@pytest.fixture
def start_worker(settings: Settings) -> Iterator:
    workers: list[Worker] = []

    def start(with_beat: bool = False, trains: bool = True, **env: str) -> Worker:
        env = {
            "FTGATE_RECONCILE_INTERVAL_SECONDS": "1",
            "FTGATE_JOB_LEASE_SECONDS": str(JOB_LEASE_SECONDS),
            **PARKED_ENV,
            **env,
        }
        worker = Worker(settings, env, with_beat, trains)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.kill()


@pytest.fixture
def client(gateway: RunningServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=f"{gateway.base_url}/v1",
        api_key=gateway.create_key(f"p-{secrets.token_hex(4)}"),
        max_retries=0,
    ) as sdk:
        yield sdk


def test_a_celery_worker_validates_jobs_created_at_the_gateway(client: openai.OpenAI, start_worker):
    start_worker()
    file_id = upload(client, "elle-limericks.jsonl")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
    validated = wait_until_validated(client, job.id, timeout=60)
    assert validated.status == "queued"
    assert validated.hyperparameters.n_epochs == 10
    messages = [event.message for event in client.fine_tuning.jobs.list_events(job.id)]
    assert messages[0] == "Files validated, moving job to queued state"
    assert len(messages) == 3


def test_a_lost_message_only_delays_the_job(client: openai.OpenAI, settings: Settings, start_worker):
    file_id = upload(client, "elle-limericks.jsonl")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
    broker = redis.Redis.from_url(settings.redis_url)
    assert broker.llen(REDIS_KEY_PREFIX + settings.celery_queue) >= 1
    broker.delete(REDIS_KEY_PREFIX + settings.celery_queue)  # the dispatched message is gone
    time.sleep(1)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "validating_files"
    start_worker(with_beat=True)
    validated = wait_until_validated(client, job.id, timeout=60)
    assert validated.status == "queued"
    messages = [event.message for event in client.fine_tuning.jobs.list_events(job.id)]
    assert messages.count("Files validated, moving job to queued state") == 1


async def _scheduling_of(settings: Settings, job_id: str) -> Any:
    """The job's status, lease and last training message, as the reconciler sees them."""
    runtime = build_runtime(settings, lambda *_: None)
    try:
        async with runtime.sessions() as session:
            query = select(Job.status, Job.locked_until, Job.training_sent_at).where(Job.id == job_id)
            return (await session.execute(query)).one()
    finally:
        await runtime.close()


def test_a_worker_killed_mid_validation_only_delays_the_job(
    client: openai.OpenAI, settings: Settings, start_worker
):
    # A gpt-3.5 job has its file counted again with cl100k_base: long enough to be caught mid-task.
    file_id = upload(client, "big.jsonl", chat_lines(250_000))
    worker = start_worker()
    job = client.fine_tuning.jobs.create(model="gpt-3.5-turbo", training_file=file_id)
    deadline = time.monotonic() + 60
    while asyncio.run(_scheduling_of(settings, job.id)).locked_until is None:
        assert time.monotonic() < deadline, "no worker took the job"
        time.sleep(0.01)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "validating_files"
    worker.kill()  # SIGKILL, mid-validation
    start_worker(with_beat=True)
    validated = wait_until_validated(client, job.id, timeout=90)
    assert validated.status == "queued"
    messages = [event.message for event in client.fine_tuning.jobs.list_events(job.id)]
    assert messages.count("Files validated, moving job to queued state") == 1


def state_saved(settings: Settings, job_id: str, step: int) -> bool:
    """The epoch's resumable state is written just after its checkpoint is recorded."""
    return (artifacts.states_dir(settings.artifacts_dir, job_id) / f"state-{step}").is_dir()


def test_a_worker_killed_mid_training_resumes_from_its_last_checkpoint(
    client: openai.OpenAI, settings: Settings, start_worker
):
    # Six epochs of 20 steps: a checkpoint (and a state to resume from) every 20 steps, so three
    # kills land well before the last epoch.
    file_id = upload(client, "many.jsonl", many_examples(20))
    job = client.fine_tuning.jobs.create(
        model=TINY_MODEL,
        training_file=file_id,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 6}}},
    )
    # A training message lost on the way costs 30 s rather than the default 10 minutes.
    resend = {"FTGATE_TRAINING_RESEND_SECONDS": "30"}
    worker = start_worker(with_beat=True, **resend)
    kills = 0
    latest_checkpoint = 0
    deadline = time.monotonic() + 300
    while kills < 3:
        if time.monotonic() > deadline:
            row = asyncio.run(_scheduling_of(settings, job.id))
            pytest.fail(f"no new checkpoint to kill at after {kills} kills; the job stands at {row}")
        steps = [c.step_number for c in client.fine_tuning.jobs.checkpoints.list(job.id)]
        if client.fine_tuning.jobs.retrieve(job.id).status == "succeeded":
            break
        if max(steps, default=0) > latest_checkpoint and state_saved(settings, job.id, max(steps)):
            latest_checkpoint = max(steps)
            worker.kill()  # SIGKILL, mid-training: the lease runs out and another worker resumes
            kills += 1
            worker = start_worker(with_beat=True, **resend)
        time.sleep(0.05)
    finished = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=240)
    assert finished.status == "succeeded", finished.error
    assert kills >= 2
    assert [event.data["step"] for event in metrics_events(client, job.id)] == list(range(1, 121))
    messages = [event.message for event in client.fine_tuning.jobs.list_events(job.id, limit=1000)]
    resumed = [message for message in messages if message.startswith("Training resumed from step ")]
    assert len(resumed) >= kills - 1 and "Training resumed from the beginning" not in " ".join(messages)
    assert messages.count("Fine-tuning job started") == 1
    assert messages.count("The job has successfully completed") == 1


def test_jobs_waiting_for_a_trainer_have_one_training_message_each(
    client: openai.OpenAI, settings: Settings, start_worker
):
    """No worker trains: the reconciler (every second) sends a queued job's training message
    again only once `training_resend_seconds` have passed, so a long wait piles nothing up."""
    broker = redis.Redis.from_url(settings.redis_url)
    start_worker(with_beat=True, trains=False, FTGATE_TRAINING_RESEND_SECONDS="8")
    file_id = upload(client, "elle-limericks.jsonl")
    jobs = [client.fine_tuning.jobs.create(model=TINY_MODEL, training_file=file_id) for _ in range(3)]
    for job in jobs:
        assert wait_until_validated(client, job.id, timeout=60).status == "queued"
    time.sleep(3)
    assert broker.llen(REDIS_KEY_PREFIX + settings.celery_training_queue) == 3

    broker.delete(
        REDIS_KEY_PREFIX + settings.celery_training_queue
    )  # the messages are lost: sent again, once
    deadline = time.monotonic() + 30
    while broker.llen(REDIS_KEY_PREFIX + settings.celery_training_queue) < 3:
        assert time.monotonic() < deadline, "the lost training messages were not sent again"
        time.sleep(0.1)
    time.sleep(2)
    assert broker.llen(REDIS_KEY_PREFIX + settings.celery_training_queue) == 3
    for job in jobs:
        client.fine_tuning.jobs.cancel(job.id)


def test_a_worker_killed_mid_eval_run_leaves_every_item_graded_once(client: openai.OpenAI, start_worker):
    created = qa_eval(client)
    rows = [{"item": {"question": f"What is {i} plus {i}?", "answer": str(2 * i)}} for i in range(40)]
    run = client.evals.runs.create(
        created.id,
        data_source={
            "type": "completions",
            "model": TINY_MODEL,
            "input_messages": {"type": "item_reference", "item_reference": "item.question"},
            "sampling_params": {"max_completion_tokens": 16},
            "source": {"type": "file_content", "content": rows},
        },
    )
    worker = start_worker(with_beat=True)
    kills = 0
    deadline = time.monotonic() + 240
    while kills < 2:
        assert time.monotonic() < deadline, f"the run graded too few items after {kills} kills"
        current = client.evals.runs.retrieve(run.id, eval_id=created.id)
        if current.status == "completed":
            break
        if current.result_counts.total >= 5 * (kills + 1):
            worker.kill()  # SIGKILL, items in flight: the lease runs out and another worker goes on
            kills += 1
            worker = start_worker(with_beat=True)
        time.sleep(0.05)
    finished = wait_for_run(client, created.id, run.id, timeout=240)
    assert finished.status == "completed" and kills == 2
    items = list(client.evals.runs.output_items.list(run.id, eval_id=created.id, limit=100))
    assert sorted(item.datasource_item_id for item in items) == list(range(40))
    counts = finished.result_counts
    assert counts.total == 40 == counts.passed + counts.failed + counts.errored
    assert [entry.passed + entry.failed for entry in finished.per_testing_criteria_results] == [40, 40]
    assert [usage.invocation_count for usage in finished.per_model_usage] == [40]
