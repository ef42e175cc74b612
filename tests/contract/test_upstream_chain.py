"""ftgate A forwards to ftgate B, which trains on its local trainer: A's client sees the job run,
its events, checkpoints, model and results exactly as B has them, and chats with B's model."""

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from gateway.catalog import BaseModelSpec
from gateway.providers.config import UpstreamSpec
from gateway.settings import Settings
from tests.conftest import TINY_MODEL
from tests.support.jobs import ELLE, upload, wait_for_status
from tests.support.server import RunningServer, serve
from tests.support.upstream import FAST_POLLING


@pytest.fixture(scope="module")
def ftgate_b(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("ftgate-b")
    (data_dir / "models").mkdir()
    (data_dir / "models" / TINY_MODEL).symlink_to(tiny_model)
    with serve(Settings(data_dir=data_dir, reconcile_interval_seconds=1.0)) as running:
        yield running


@pytest.fixture(scope="module")
def key_at_b(ftgate_b: RunningServer) -> str:
    return ftgate_b.create_key("team-a-at-b")


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, ftgate_b: RunningServer, key_at_b: str
) -> Iterator[RunningServer]:
    """ftgate A: no models of its own; tiny-chat is B's."""
    settings = Settings.model_validate(
        {
            "data_dir": tmp_path_factory.mktemp("ftgate-a"),
            "reconcile_interval_seconds": 1.0,
            "upstreams": [UpstreamSpec(name="b", base_url=f"{ftgate_b.base_url}/v1", api_key=key_at_b)],
            "base_models": [
                BaseModelSpec(id=TINY_MODEL, provider="b", owned_by="ftgate", learning_rate_multiplier=1.0)
            ],
            **FAST_POLLING,
        }
    )
    with serve(settings) as running:
        yield running


def in_order(client: openai.OpenAI, job_id: str) -> list:
    return list(reversed(list(client.fine_tuning.jobs.list_events(job_id, limit=1000))))


def test_a_job_at_a_trains_at_b_and_its_model_answers_through_a(
    client: openai.OpenAI, key_at_b: str, ftgate_b
):
    file_id = upload(client, "elle-limericks.jsonl")
    job = client.fine_tuning.jobs.create(model=TINY_MODEL, training_file=file_id, suffix="elle", seed=1)
    done = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=180)
    assert done.status == "succeeded", done.error

    with openai.OpenAI(base_url=f"{ftgate_b.base_url}/v1", api_key=key_at_b, max_retries=0) as at_b:
        [b_job] = [item for item in at_b.fine_tuning.jobs.list() if item.metadata["ftgate_job_id"] == job.id]
        assert b_job.status == "succeeded"
        assert done.fine_tuned_model == b_job.fine_tuned_model
        assert done.trained_tokens == b_job.trained_tokens
        assert done.hyperparameters == b_job.hyperparameters
        b_events = in_order(at_b, b_job.id)
        b_checkpoints = [
            c.fine_tuned_model_checkpoint for c in at_b.fine_tuning.jobs.checkpoints.list(b_job.id)
        ]
        b_results = at_b.files.content(b_job.result_files[0]).read()

    events = in_order(client, job.id)
    assert [event.message for event in events[3:]] == [event.message for event in b_events[3:]]
    assert [event.data["step"] for event in events if event.type == "metrics"] == list(range(1, 101))
    assert [
        c.fine_tuned_model_checkpoint for c in client.fine_tuning.jobs.checkpoints.list(job.id)
    ] == b_checkpoints
    assert client.files.content(done.result_files[0]).read() == b_results

    example = ELLE[1]["messages"]
    answer = client.chat.completions.create(model=done.fine_tuned_model, messages=example[:2], temperature=0)
    assert answer.choices[0].message.content == example[2]["content"]
    streamed = client.chat.completions.create(
        model=done.fine_tuned_model, messages=example[:2], temperature=0, stream=True
    )
    assert (
        "".join(chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices)
        == example[2]["content"]
    )
