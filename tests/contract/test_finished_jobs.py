"""Reads of a finished job: checkpoints newest step first, and its model in /v1/models."""

import openai
import pytest

from tests.support.jobs import upload, wait_until_validated
from tests.support.seed import finish_job


@pytest.fixture
def finished(server, client: openai.OpenAI) -> tuple[str, str]:
    file_id = upload(client, "elle-limericks.jsonl")
    job = wait_until_validated(
        client, client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id).id
    )
    name = f"ft:gpt-4o-mini-2024-07-18:seeded:elle:{job.id[-8:]}"
    finish_job(server.settings, job.id, [10, 20, 30], name)
    return job.id, name


def test_checkpoints_page_newest_step_first(client: openai.OpenAI, finished):
    job_id, name = finished
    page = client.fine_tuning.jobs.checkpoints.list(job_id, limit=2)
    assert [c.step_number for c in page.data] == [30, 20] and page.has_more
    assert page.data[0].fine_tuned_model_checkpoint == f"{name}:ckpt-step-30"
    assert page.data[0].fine_tuning_job_id == job_id
    assert page.data[0].id.startswith("ftckpt_")
    assert [c.step_number for c in client.fine_tuning.jobs.checkpoints.list(job_id, limit=2)] == [30, 20, 10]


def test_finished_job_refuses_every_action(client: openai.OpenAI, finished):
    job_id, _ = finished
    job = client.fine_tuning.jobs.retrieve(job_id)
    assert (job.status, job.trained_tokens) == ("succeeded", 4321)
    for action in (
        client.fine_tuning.jobs.cancel,
        client.fine_tuning.jobs.pause,
        client.fine_tuning.jobs.resume,
    ):
        with pytest.raises(openai.BadRequestError) as raised:
            action(job_id)
        assert raised.value.message.endswith("Cannot " + action.__name__ + " a job with status 'succeeded'.")


def test_fine_tuned_model_is_listed_retrieved_and_deleted_by_its_owner_only(make_client, client, finished):
    _, name = finished
    assert name in [model.id for model in client.models.list()]
    model = client.models.retrieve(name)
    assert model.owned_by.startswith("org-")
    intruder = make_client()
    assert name not in [m.id for m in intruder.models.list()]
    with pytest.raises(openai.NotFoundError):
        intruder.models.retrieve(name)
    with pytest.raises(openai.NotFoundError):
        intruder.models.delete(name)
    deleted = client.models.delete(name)
    assert (deleted.id, deleted.deleted) == (name, True)
    assert name not in [m.id for m in client.models.list()]
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve(name)


def test_a_fine_tuned_model_can_be_tuned_again(client: openai.OpenAI, finished):
    job_id, name = finished
    training_file = client.fine_tuning.jobs.retrieve(job_id).training_file
    child = client.fine_tuning.jobs.create(model=name, training_file=training_file)
    assert child.model == name
    assert wait_until_validated(client, child.id).status == "queued"
