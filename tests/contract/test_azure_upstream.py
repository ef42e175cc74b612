"""Jobs on a model that Azure OpenAI serves, driven with the official SDK exactly as for OpenAI:
the key in Azure's `api-key` header, Azure's `pending`, `organisation_id` and `data: null`
normalised to OpenAI's shapes (every response checked against OpenAI's spec on the wire), the
fine-tuned model deployed once through Azure Resource Manager before it is shown succeeded, chat
with it sent to its deployment, and one Azure job per ftgate job through lost answers, on an
Azure that keeps no metadata."""

import logging
import time

import openai
import pytest

from tests.support.azure import ARM_TOKEN, AZURE_KEY, GPT, azure_server, scripted_azure
from tests.support.fake_azure import FakeAzure
from tests.support.jobs import upload, wait_for_status
from tests.support.upstream import (
    GALLIUM,
    assert_never_shown,
    assert_refused_before_sending,
    assert_tuned_chat_reaches,
    chronological_events,
    create_job,
    made_since,
    supervised,
    upstream_fixtures,
)

FINISHED = {"succeeded", "failed", "cancelled"}
CREATES = r"^/v1/fine_tuning/jobs$"
DEPLOYMENTS = "/deployments/"


def tidy(fake: FakeAzure) -> None:
    fake.clear_faults()
    fake.provision(0.3)


fake, server, tidy_fake, jobs_before = upstream_fixtures("azure", scripted_azure, azure_server, tidy=tidy)


def create(client: openai.OpenAI, n_epochs: int = 1, **extra: object):
    return create_job(client, n_epochs, GPT, **extra)


def deployment_puts(fake: FakeAzure) -> list[dict]:
    return [r for r in fake.arm_requests if r["method"] == "PUT"]


def test_a_job_runs_on_azure_and_its_model_is_deployed_once_before_it_is_shown_succeeded(
    client: openai.OpenAI, fake: FakeAzure, jobs_before: int
):
    fake.provision(1.5)
    puts_before = len(deployment_puts(fake))
    job = create(client, n_epochs=2, suffix="elle", seed=42)
    seen = {job.status}
    deadline = time.monotonic() + 60
    while (current := client.fine_tuning.jobs.retrieve(job.id)).status not in FINISHED:
        seen.add(current.status)
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert current.status == "succeeded", current.error
    assert seen <= {"validating_files", "queued", "running"} and "running" in seen
    [azure] = made_since(fake, jobs_before)
    assert azure["status"] == "succeeded"
    model = azure["fine_tuned_model"]
    assert current.fine_tuned_model == model and model.startswith(f"{GPT}.ft-")
    assert current.trained_tokens == azure["trained_tokens"]

    [put] = deployment_puts(fake)[puts_before:]
    assert put["query"] == {"api-version": "2024-10-21"}
    assert put["path"].endswith(f"{DEPLOYMENTS}{model}")
    assert put["body"] == {
        "sku": {"name": "standard", "capacity": 1},
        "properties": {"model": {"format": "OpenAI", "name": model, "version": "1"}},
    }
    assert fake.deployments()[model] == model
    reads = [r for r in fake.arm_requests if r["method"] == "GET" and r["path"].endswith(model)]
    assert reads[-1]["status"] == 200 and len(reads) >= 2, "ftgate waited for the deployment"

    events = chronological_events(client, job.id)
    messages = [event.message for event in events]
    assert messages[-2:] == [f"New fine-tuned model created: {model}", "The job has successfully completed"]
    assert messages.count("Fine-tuning job started") == 1
    steps = [event.data["step"] for event in events if event.type == "metrics"]
    assert steps == list(range(1, 21))
    checkpoints = list(client.fine_tuning.jobs.checkpoints.list(job.id))
    assert checkpoints[0].fine_tuned_model_checkpoint == model
    assert checkpoints[0].step_number == 20


def test_chat_with_the_fine_tuned_model_goes_to_its_deployment(
    client: openai.OpenAI, fake: FakeAzure, make_client
):
    job = create(client, suffix="chat")
    model = wait_for_status(client, job.id, FINISHED).fine_tuned_model
    assert model is not None
    assert_tuned_chat_reaches(client, make_client(), fake, model)
    streamed = client.chat.completions.create(model=GPT, messages=GALLIUM, stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices).endswith(
        "Tell me about Gallium"
    )
    assert fake.chats[-1] == GPT


def test_a_deployment_azure_cannot_make_fails_the_job_with_the_deployment_named(
    client: openai.OpenAI, fake: FakeAzure
):
    fake.provision(0.2, failing=True)
    job = create(client, suffix="nodeploy")
    done = wait_for_status(client, job.id, FINISHED, timeout=60)
    assert done.status == "failed"
    assert done.error.code == "deployment_failed"
    assert "Failed" in done.error.message and done.fine_tuned_model is None
    errors = [event for event in chronological_events(client, job.id) if event.level == "error"]
    assert len(errors) == 1


def test_management_faults_delay_the_deployment_but_make_it_once(client: openai.OpenAI, fake: FakeAzure):
    puts_before = len(deployment_puts(fake))
    job = create(client, suffix="faults")
    wait_for_status(client, job.id, {"running"})
    fake.add_fault("*", DEPLOYMENTS, "status", status=503, times=4)
    done = wait_for_status(client, job.id, FINISHED, timeout=60)
    assert done.status == "succeeded", done.error
    assert len(deployment_puts(fake)) - puts_before == 1


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"suffix": "a-suffix-longer-than-forty-characters-is-refused"}, "suffix"),
        ({"suffix": "no.dots"}, "suffix"),
        ({"integrations": [{"type": "wandb", "wandb": {"project": "p"}}]}, "integrations"),
    ],
)
def test_what_azure_cannot_do_is_refused_naming_the_field_and_nothing_is_sent(
    client: openai.OpenAI, fake: FakeAzure, extra: dict, param: str
):
    assert_refused_before_sending(client, fake, GPT, extra, param)


def test_pause_resume_and_cancel_reach_azure(client: openai.OpenAI, fake: FakeAzure, jobs_before: int):
    job = create(client, n_epochs=3, metadata={"fake_step_seconds": "0.3"})
    wait_for_status(client, job.id, {"running"})
    assert client.fine_tuning.jobs.pause(job.id).status == "paused"
    [azure] = made_since(fake, jobs_before)
    deadline = time.monotonic() + 10
    while fake.job(azure["id"])["status"] != "paused":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.fine_tuning.jobs.resume(job.id).status == "queued"
    wait_for_status(client, job.id, {"running"})
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    time.sleep(0.6)
    assert fake.job(azure["id"])["status"] == "cancelled"
    assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"


def test_a_create_whose_answer_was_lost_is_found_by_what_was_sent(
    client: openai.OpenAI, fake: FakeAzure, jobs_before: int
):
    creates_before = fake.requests_to("POST", CREATES)
    fake.keep_metadata(False)
    try:
        fake.add_fault("POST", CREATES, "drop_after", times=1)
        file_id = upload(client, "elle-limericks.jsonl")
        first, second = (
            client.fine_tuning.jobs.create(model=GPT, training_file=file_id, method=supervised(1))
            for _ in range(2)
        )
        done = [wait_for_status(client, job.id, FINISHED) for job in (first, second)]
    finally:
        fake.keep_metadata(True)
    assert [job.status for job in done] == ["succeeded", "succeeded"]
    made = made_since(fake, jobs_before)
    assert len(made) == 2 and all(job["metadata"] is None for job in made)
    assert fake.requests_to("POST", CREATES) - creates_before == 2
    assert {job.fine_tuned_model for job in done} == {job["fine_tuned_model"] for job in made}


def test_an_azure_failure_fails_the_job_with_its_words(client: openai.OpenAI):
    job = create(client, metadata={"fake_outcome": "fail"})
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "failed"
    assert done.error.message == "The job failed due to an internal error."
    assert done.fine_tuned_model is None


def test_the_azure_key_and_token_never_show(
    client: openai.OpenAI, fake: FakeAzure, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    fake.add_fault("GET", DEPLOYMENTS, "status", status=401, times=2)
    fake.add_fault("GET", r"^/v1/fine_tuning/jobs/[^/]+$", "status", status=401, times=2)
    job = create(client, suffix="secret")
    done = wait_for_status(client, job.id, FINISHED, timeout=60)
    assert done.status == "succeeded", done.error
    assert_never_shown(client, job.id, caplog.text, AZURE_KEY, ARM_TOKEN)
