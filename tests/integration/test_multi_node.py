"""Several nodes, each with a data folder of its own, sharing only PostgreSQL, Redis and the S3
bucket: two gateways, a Celery worker (with the reconciler) and a trainer. A file uploaded on one
gateway is trained on the trainer and served by the other; any one node killed mid-job loses
nothing."""

import asyncio
import io
import secrets
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from gateway import migrations
from gateway.cli import create_project_key
from gateway.settings import Settings
from gateway.storage.choice import blob_store
from gateway.storage.s3 import S3BlobStore
from tests.support.jobs import many_examples, metrics_events, upload, wait_for_status
from tests.support.nodes import TINY_MODEL, Cluster, Gateway
from tests.support.parked import PARKED
from tests.support.postgres import temporary_database
from tests.support.redis_isolation import REDIS_KEY_PREFIX, REDIS_URL
from tests.support.s3 import S3Server

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.s3]
DONE = {"succeeded", "failed", "cancelled"}
QUESTION = [{"role": "user", "content": "Write a limerick."}]


@pytest.fixture(scope="module")
def storage(s3_server: S3Server) -> dict[str, object]:
    return s3_server.settings()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, storage: dict[str, object]) -> Iterator[Settings]:
    """The test's own view of the shared parts (its data folder is no node's)."""
    with temporary_database() as database_url:
        migrations.upgrade(database_url)
        yield Settings(
            data_dir=tmp_path_factory.mktemp("observer"),
            database_url=database_url,
            queue="celery",
            redis_url=REDIS_URL,
            redis_key_prefix=REDIS_KEY_PREFIX,
            celery_queue=f"ftgate-test-{secrets.token_hex(4)}",
            celery_training_queue=f"ftgate-test-training-{secrets.token_hex(4)}",
            reconcile_interval_seconds=1.0,
            **storage,
            **PARKED,
        )


@pytest.fixture(scope="module")
def cluster(
    settings: Settings, storage: dict[str, object], tmp_path_factory: pytest.TempPathFactory, tiny_model: Path
) -> Iterator[Cluster]:
    running = Cluster(settings, storage, tmp_path_factory.mktemp("nodes"), tiny_model)
    try:
        yield running
    finally:
        running.stop()


class Nodes:
    """The cluster's current nodes; a test that kills one puts its replacement here."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.gateways = [cluster.gateway(), cluster.gateway()]
        self.worker = cluster.worker()
        self.trainer = cluster.trainer()


@pytest.fixture(scope="module")
def nodes(cluster: Cluster) -> Nodes:
    return Nodes(cluster)


@pytest.fixture(scope="module")
def key(settings: Settings) -> str:
    return asyncio.run(create_project_key(settings, f"nodes-{secrets.token_hex(4)}"))


def sdk(gateway: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=0, timeout=60)


def bucket_keys(settings: Settings, prefix: str) -> list[str]:
    store = blob_store(settings)
    assert isinstance(store, S3BlobStore)
    return sorted(store.keys(prefix))


def events(client: openai.OpenAI, job_id: str) -> list[str]:
    return [event.message for event in client.fine_tuning.jobs.list_events(job_id, limit=1000)]


def test_a_file_uploaded_on_one_gateway_is_trained_on_the_trainer_and_served_by_the_other(
    nodes: Nodes, key: str
):
    first, second = (sdk(gateway, key) for gateway in nodes.gateways)
    file_id = upload(first, "elle-limericks.jsonl")
    job = first.fine_tuning.jobs.create(
        model=TINY_MODEL,
        training_file=file_id,
        seed=1,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}},
    )
    done = wait_for_status(second, job.id, DONE, timeout=120)
    assert done.status == "succeeded", done.error
    assert done.fine_tuned_model is not None
    assert events(first, job.id) == events(second, job.id)
    assert events(second, job.id).count("The job has successfully completed") == 1
    checkpoint = next(c for c in second.fine_tuning.jobs.checkpoints.list(job.id) if c.step_number == 10)
    for model in (done.fine_tuned_model, checkpoint.fine_tuned_model_checkpoint):
        answer = second.chat.completions.create(model=model, messages=QUESTION, max_tokens=5)
        assert answer.choices[0].message.content
    # The weights, exported by a gateway that neither trained nor served the model.
    exported = httpx.get(
        f"{nodes.gateways[0].base_url}/v1/models/{done.fine_tuned_model}/weights",
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    assert exported.status_code == 200, exported.text
    with tarfile.open(fileobj=io.BytesIO(exported.content)) as archive:
        assert any(name.endswith("/adapter_config.json") for name in archive.getnames())
    # The adapter travelled through the bucket: no node has another's folders.
    for gateway in nodes.gateways:
        assert not (gateway.data_dir / "artifacts").exists()
        assert not (gateway.data_dir / "blobs").exists()
    assert (nodes.trainer.data_dir / "artifacts" / job.id / "model").is_dir()


# Epochs of 20 steps, a state published after each: the first one's is in the bucket for five
# more epochs, long enough for a test on a loaded machine to see it and kill a node mid-job.
LONG_JOB_EPOCHS = 6
LONG_JOB_STEPS = 20 * LONG_JOB_EPOCHS


def create_long_job(client: openai.OpenAI) -> str:
    file_id = upload(client, "many.jsonl", many_examples(20))
    job = client.fine_tuning.jobs.create(
        model=TINY_MODEL,
        training_file=file_id,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": LONG_JOB_EPOCHS}}},
    )
    return job.id


def wait_for_published_state(client: openai.OpenAI, settings: Settings, job_id: str) -> None:
    """Until the first epoch's training state is in the bucket."""
    state = f"artifacts/{job_id}/states/latest.manifest.json"
    deadline = time.monotonic() + 90
    while state not in bucket_keys(settings, f"artifacts/{job_id}/states/"):
        assert time.monotonic() < deadline, "no training state was published"
        assert client.fine_tuning.jobs.retrieve(job_id).status not in DONE
        time.sleep(0.1)


def assert_trained_once(client: openai.OpenAI, job_id: str) -> None:
    done = wait_for_status(client, job_id, DONE, timeout=150)
    assert done.status == "succeeded", done.error
    steps = [event.data["step"] for event in metrics_events(client, job_id)]
    assert steps == list(range(1, LONG_JOB_STEPS + 1))
    messages = events(client, job_id)
    assert messages.count("Fine-tuning job started") == 1
    assert messages.count("The job has successfully completed") == 1
    assert "Training resumed from the beginning" not in " ".join(messages)
    kept = sorted(c.step_number for c in client.fine_tuning.jobs.checkpoints.list(job_id))
    assert kept == [LONG_JOB_STEPS - 40, LONG_JOB_STEPS - 20, LONG_JOB_STEPS], kept  # the last 3


def test_a_trainer_killed_mid_job_is_replaced_by_one_on_an_empty_folder(
    nodes: Nodes, key: str, settings: Settings
):
    client = sdk(nodes.gateways[0], key)
    job_id = create_long_job(client)
    wait_for_published_state(client, settings, job_id)
    nodes.trainer.kill()  # SIGKILL mid-training: its folder (and the state in it) is gone for good
    nodes.trainer = nodes.cluster.trainer()
    assert_trained_once(client, job_id)
    resumed = [m for m in events(client, job_id) if m.startswith("Training resumed from step ")]
    assert len(resumed) == 1


def test_a_worker_killed_mid_job_loses_nothing(nodes: Nodes, key: str):
    client = sdk(nodes.gateways[1], key)
    job_id = create_long_job(client)
    nodes.worker.kill()  # as it validates the job's file (or just after), with the reconciler
    nodes.worker = nodes.cluster.worker()
    assert_trained_once(client, job_id)


def test_a_gateway_killed_mid_job_leaves_the_other_serving_everything(
    nodes: Nodes, key: str, settings: Settings
):
    client = sdk(nodes.gateways[0], key)
    job_id = create_long_job(client)
    wait_for_published_state(client, settings, job_id)
    nodes.gateways[0].kill()
    other = sdk(nodes.gateways[1], key)
    assert_trained_once(other, job_id)
    done = other.fine_tuning.jobs.retrieve(job_id)
    assert done.fine_tuned_model is not None
    answer = other.chat.completions.create(model=done.fine_tuned_model, messages=QUESTION, max_tokens=5)
    assert answer.choices[0].message.content
    nodes.gateways[0] = nodes.cluster.gateway()
