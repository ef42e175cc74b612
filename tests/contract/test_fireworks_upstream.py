"""Jobs on a model that Fireworks AI serves, driven with the official SDK exactly as for OpenAI:
files as Fireworks datasets, jobs under ids ftgate derives, Fireworks' states and progress mapped
to OpenAI's shapes (every response checked against OpenAI's spec on the wire), what Fireworks
cannot do refused before anything is sent, and one Fireworks job per ftgate job through lost
answers."""

import io
import logging
import secrets
import time

import openai
import pytest

from gateway.providers import fireworks_wire
from gateway.providers.config import UpstreamSpec
from gateway.providers.fireworks import FireworksProvider
from tests.conftest import sdk_client
from tests.support.admin import Admin
from tests.support.fake_fireworks import FakeFireworks
from tests.support.fireworks import (
    ACCOUNT,
    FIREWORKS_KEY,
    FIREWORKS_LLAMA,
    fireworks_server,
    scripted_fireworks,
)
from tests.support.jobs import upload, wait_for_status
from tests.support.server import RunningServer
from tests.support.upstream import (
    GALLIUM,
    LLAMA,
    assert_never_shown,
    assert_refused_before_sending,
    assert_tuned_chat_reaches,
    chronological_events,
    create_job,
    made_since,
    supervised,
    upstream_fixtures,
)
from tests.support.wire import WireChecker

FINISHED = {"succeeded", "failed", "cancelled"}
DPO_CREATES = rf"^/v1/accounts/{ACCOUNT}/dpoJobs$"
PREFERENCE = (
    '{"input": {"messages": [{"role": "user", "content": "Say hi, %d"}]}, '
    '"preferred_output": [{"role": "assistant", "content": "Hello!"}], '
    '"non_preferred_output": [{"role": "assistant", "content": "Go away."}]}\n'
)
CREATES = rf"^/v1/accounts/{ACCOUNT}/supervisedFineTuningJobs$"
DATASETS = rf"^/v1/accounts/{ACCOUNT}/datasets"


fake, server, tidy_fake, jobs_before = upstream_fixtures("fireworks", scripted_fireworks, fireworks_server)


def create(client: openai.OpenAI, n_epochs: int = 2, **extra: object):
    return create_job(client, n_epochs, LLAMA, **extra)


def wait_for_upstream(fake: FakeFireworks, job_id: str, states: set[str], timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while (state := fake.job(job_id)["state"].removeprefix("JOB_STATE_")) not in states:
        assert time.monotonic() < deadline, state
        time.sleep(0.02)
    return state


def test_a_job_runs_on_fireworks_and_its_life_is_mirrored_in_openais_shapes(
    client: openai.OpenAI, fake: FakeFireworks, jobs_before: int
):
    job = create(client, n_epochs=2, suffix="elle", seed=42)
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "succeeded", done.error
    [fireworks] = made_since(fake, jobs_before)
    assert fireworks["state"] == "JOB_STATE_COMPLETED"
    assert fireworks["id"] == fireworks_wire.job_id(job.id)
    assert done.fine_tuned_model == fireworks["outputModel"]
    assert done.fine_tuned_model == f"accounts/{ACCOUNT}/models/elle-{fireworks['id']}"
    assert done.finished_at == fireworks_wire.unix(fireworks["completedTime"])

    events = chronological_events(client, job.id)
    messages = [event.message for event in events]
    assert messages[:3] == [
        f"Created fine-tuning job: {job.id}",
        f"Validating training file: {job.training_file}",
        "Files validated, moving job to queued state",
    ]
    assert messages.count("Fine-tuning job started") == 1
    total = len(fireworks["metrics"])
    steps = [event.data for event in events if event.type == "metrics"]
    assert [data["step"] for data in steps] == list(range(1, total + 1))
    assert all(data["train_loss"] > 0 for data in steps)
    assert messages.index("Fine-tuning job started") < messages.index("Step 1: training loss=2.00")
    assert messages.count("Epoch 1 completed") == 1 and messages.count("Epoch 2 completed") == 1
    assert messages.index("Epoch 1 completed") < messages.index("Epoch 2 completed")
    assert messages[-2:] == [
        f"New fine-tuned model created: {done.fine_tuned_model}",
        "The job has successfully completed",
    ]
    assert [event.level for event in events].count("error") == 0
    assert list(client.fine_tuning.jobs.checkpoints.list(job.id)) == []


def test_the_fireworks_job_carries_the_mapped_hyperparameters_and_datasets(
    client: openai.OpenAI, fake: FakeFireworks, jobs_before: int
):
    datasets_before = fake.fireworks.datasets_created
    uploads_before = fake.files_uploaded
    validations_before = fake.fireworks.validations
    file_id = upload(client, "elle-limericks.jsonl")
    validation = upload(client, "elle-limericks.jsonl")
    method = {
        "type": "supervised",
        "supervised": {"hyperparameters": {"n_epochs": 1, "batch_size": 2, "learning_rate_multiplier": 3}},
    }
    jobs = [
        client.fine_tuning.jobs.create(
            model=LLAMA,
            training_file=file_id,
            validation_file=validation,
            method=method,
            suffix="Mapped_Jobs.v2",
        )
        for _ in range(2)
    ]
    assert [wait_for_status(client, job.id, FINISHED).status for job in jobs] == ["succeeded"] * 2
    made = made_since(fake, jobs_before)
    assert len(made) == 2
    fireworks = next(item for item in made if item["id"] == fireworks_wire.job_id(jobs[0].id))
    dataset = f"accounts/{ACCOUNT}/datasets/{fireworks_wire.dataset_id(client.files.content(file_id).read())}"
    assert fireworks["request"] == {
        "displayName": jobs[0].id,
        "dataset": dataset,
        "evaluationDataset": dataset,  # the same content: the same dataset
        "baseModel": FIREWORKS_LLAMA,
        "outputModel": f"accounts/{ACCOUNT}/models/mapped-jobs-v2-{fireworks['id']}",
        "epochs": 1,
        "batchSizeSamples": 2,
        "learningRate": pytest.approx(3e-4),
    }
    assert fake.dataset_content(dataset.rsplit("/", 1)[-1]) == client.files.content(file_id).read()
    # One dataset for the two files of one content, created, uploaded and validated once.
    assert fake.fireworks.datasets_created - datasets_before <= 1
    assert fake.files_uploaded - uploads_before <= 1
    assert fake.fireworks.validations - validations_before <= 1


def test_a_file_is_made_a_dataset_once_created_uploaded_and_validated(
    client: openai.OpenAI, fake: FakeFireworks
):
    before = (fake.fireworks.datasets_created, fake.files_uploaded, fake.fireworks.validations)
    content = (
        f'{{"messages": [{{"role": "user", "content": "once {secrets.token_hex(4)}"}}, '
        '{"role": "assistant", "content": "only"}]}\n'.encode()
        * 10
    )
    file_id = client.files.create(file=("once.jsonl", content), purpose="fine-tune").id
    jobs = [
        client.fine_tuning.jobs.create(model=LLAMA, training_file=file_id, method=supervised(1))
        for _ in range(2)
    ]
    assert [wait_for_status(client, job.id, FINISHED).status for job in jobs] == ["succeeded"] * 2
    after = (fake.fireworks.datasets_created, fake.files_uploaded, fake.fireworks.validations)
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1]
    [dataset] = [d for key, d in fake.datasets().items() if key == fireworks_wire.dataset_id(content)]
    assert dataset["state"] == "READY" and dataset["exampleCount"] == "10" and dataset["format"] == "CHAT"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"integrations": [{"type": "wandb", "wandb": {"project": "p"}}]}, "integrations"),
        (
            {"method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.6}}}},
            "method.dpo.hyperparameters.beta",
        ),
        ({"method": {"type": "dpo"}, "validation_file": "file-any"}, "validation_file"),
        ({"method": {"type": "reinforcement", "reinforcement": {"grader": {}}}}, "method.type"),
    ],
)
def test_what_fireworks_cannot_do_is_refused_naming_the_field_and_nothing_is_sent(
    client: openai.OpenAI, fake: FakeFireworks, extra: dict, param: str
):
    assert_refused_before_sending(client, fake, LLAMA, extra, param)


def test_cancel_reaches_fireworks_and_pause_and_resume_are_refused(
    client: openai.OpenAI, fake: FakeFireworks, jobs_before: int
):
    fake.script_next_job(step_seconds=0.3)
    job = create(client, n_epochs=3)
    wait_for_status(client, job.id, {"running"})
    for action in (client.fine_tuning.jobs.pause, client.fine_tuning.jobs.resume):
        with pytest.raises(openai.BadRequestError) as refused:
            action(job.id)
        assert refused.value.param == "fine_tuning_job_id"
        assert "cannot" in refused.value.message
    assert client.fine_tuning.jobs.retrieve(job.id).status == "running"

    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    [fireworks] = made_since(fake, jobs_before)
    wait_for_upstream(fake, fireworks["id"], {"CANCELLED"})
    time.sleep(0.6)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
    assert fake.requests_to("POST", rf"/{fireworks['id']}:cancel$") == 1
    messages = [event.message for event in chronological_events(client, job.id)]
    assert messages.count("Fine-tuning job cancelled") <= 1


def test_a_create_whose_answer_was_lost_is_found_not_sent_again(
    client: openai.OpenAI, fake: FakeFireworks, jobs_before: int
):
    creates_before = fake.requests_to("POST", CREATES)
    fake.add_fault("POST", CREATES, "drop_after", times=1)
    job = create(client, n_epochs=1)
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "succeeded", done.error
    [fireworks] = made_since(fake, jobs_before)
    assert done.fine_tuned_model == fireworks["outputModel"]
    assert fake.requests_to("POST", CREATES) - creates_before == 1
    assert fake.requests_to("GET", rf"/supervisedFineTuningJobs/{fireworks['id']}$") >= 1


def test_fireworks_faults_delay_a_job_but_lose_and_repeat_nothing(
    client: openai.OpenAI, fake: FakeFireworks, jobs_before: int
):
    fake.add_fault("POST", CREATES, "status", status=429, retry_after=0.2, times=2)
    fake.add_fault("POST", r":upload$", "status", status=503, times=1)
    fake.add_fault("POST", DATASETS + "$", "drop_after", times=1)
    fake.add_fault("GET", r"/supervisedFineTuningJobs/[^/]+$", "status", status=500, times=3)
    content = (
        b'{"messages": [{"role": "user", "content": "fault"}, {"role": "assistant", "content": "ok"}]}\n' * 10
    )
    file_id = client.files.create(file=("faults.jsonl", content), purpose="fine-tune").id
    job = client.fine_tuning.jobs.create(model=LLAMA, training_file=file_id, method=supervised(1))
    done = wait_for_status(client, job.id, FINISHED, timeout=60)
    assert done.status == "succeeded", done.error
    assert len(made_since(fake, jobs_before)) == 1
    messages = [event.message for event in chronological_events(client, job.id)]
    assert len(messages) == len(set(messages)), "an event was recorded twice"


def test_a_fireworks_failure_fails_the_job_with_its_words(client: openai.OpenAI, fake: FakeFireworks):
    fake.script_next_job(error="Training failed: CUDA out of memory at step 2")
    job = create(client, n_epochs=1)
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "failed"
    assert done.error.message == "Training failed: CUDA out of memory at step 2"
    assert done.fine_tuned_model is None
    errors = [event for event in chronological_events(client, job.id) if event.level == "error"]
    assert [event.message for event in errors] == [done.error.message]


def test_a_dataset_fireworks_refuses_fails_the_job_with_its_words(
    client: openai.OpenAI, fake: FakeFireworks, jobs_before: int
):
    words = "Dataset validation failed: line 3 has an assistant turn with no content"
    fake.refuse_next_dataset(words)
    content = (
        f'{{"messages": [{{"role": "user", "content": "refused {secrets.token_hex(4)}"}}, '
        '{"role": "assistant", "content": "x"}]}\n'.encode()
        * 10
    )
    file_id = client.files.create(file=("refused.jsonl", content), purpose="fine-tune").id
    job = client.fine_tuning.jobs.create(model=LLAMA, training_file=file_id, method=supervised(1))
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "failed"
    assert words in done.error.message
    assert made_since(fake, jobs_before) == []


def test_an_early_stopped_job_succeeded(client: openai.OpenAI, fake: FakeFireworks, jobs_before: int):
    fake.script_next_job(early_stop=True)
    job = create(client, n_epochs=3)
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "succeeded", done.error
    [fireworks] = made_since(fake, jobs_before)
    assert fireworks["state"] == "JOB_STATE_EARLY_STOPPED"
    assert done.fine_tuned_model == fireworks["outputModel"]
    messages = [event.message for event in chronological_events(client, job.id)]
    assert "Fireworks stopped the training early" in messages


def test_a_job_fireworks_pauses_is_paused_and_can_be_cancelled(
    client: openai.OpenAI, fake: FakeFireworks, jobs_before: int
):
    fake.script_next_job(pause=True)
    job = create(client, n_epochs=3)
    assert wait_for_status(client, job.id, FINISHED | {"paused"}).status == "paused"
    [fireworks] = made_since(fake, jobs_before)
    assert fireworks["state"] == "JOB_STATE_PAUSED"
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    wait_for_upstream(fake, fireworks["id"], {"CANCELLED"})


def test_validating_after_creating_does_not_move_the_job_back(
    client: openai.OpenAI, fake: FakeFireworks, jobs_before: int
):
    fake.script_next_job(validating_seconds=1.5)
    job = create(client, n_epochs=1)
    deadline = time.monotonic() + 20
    while not made_since(fake, jobs_before):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    [fireworks] = made_since(fake, jobs_before)
    wait_for_upstream(fake, fireworks["id"], {"VALIDATING"})
    seen = set()
    while fake.job(fireworks["id"])["state"] == "JOB_STATE_VALIDATING":
        seen.add(client.fine_tuning.jobs.retrieve(job.id).status)
        time.sleep(0.1)
    assert seen == {"queued"}
    assert wait_for_status(client, job.id, FINISHED).status == "succeeded"


def test_chat_with_the_fine_tuned_model_reaches_fireworks_inference_under_its_output_name(
    client: openai.OpenAI, fake: FakeFireworks, make_client
):
    job = create(client, n_epochs=1, suffix="chat")
    model = wait_for_status(client, job.id, FINISHED).fine_tuned_model
    assert model is not None and model.startswith(f"accounts/{ACCOUNT}/models/chat-")
    chats_before = fake.requests_to("POST", r"^/inference/v1/chat/completions$")
    assert_tuned_chat_reaches(client, make_client(), fake, model)
    base = client.chat.completions.create(model=LLAMA, messages=GALLIUM)
    assert base.choices[0].message.content == f"[{FIREWORKS_LLAMA}] Tell me about Gallium"
    assert fake.requests_to("POST", r"^/inference/v1/chat/completions$") - chats_before == 2


def test_the_fireworks_key_never_shows(
    client: openai.OpenAI, fake: FakeFireworks, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    fake.add_fault("GET", r"/supervisedFineTuningJobs/[^/]+$", "status", status=401, times=2)
    job = create(client, n_epochs=1)
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "succeeded"
    assert_never_shown(client, job.id, caplog.text, FIREWORKS_KEY)
    signed = [r for r in fake.requests if r["path"].startswith("/signed/")]
    assert signed, "the metrics file was read"


async def test_a_create_sent_again_reads_the_job_it_made_and_a_dataset_is_not_uploaded_twice(
    fake: FakeFireworks,
):
    """Straight to the adapter: a second create for one ftgate job is answered ALREADY_EXISTS and
    reads the job; an upload of a content Fireworks has READY reads the dataset."""
    spec = UpstreamSpec.model_validate(
        {
            "name": "fw",
            "kind": "fireworks",
            "base_url": fake.base_url,
            "api_key": FIREWORKS_KEY,
            "account_id": ACCOUNT,
        }
    )
    provider = FireworksProvider(spec)
    try:
        content = b'{"messages": [{"role": "user", "content": "%s"}]}\n' % secrets.token_hex(4).encode()
        uploads = fake.files_uploaded
        dataset = await provider.upload_file("a.jsonl", io.BytesIO(content), "fine-tune")
        assert await provider.upload_file("b.jsonl", io.BytesIO(content), "fine-tune") == dataset
        assert fake.files_uploaded - uploads == 1
        request = {
            "model": FIREWORKS_LLAMA,
            "training_file": dataset,
            "method": supervised(1),
            "metadata": {"ftgate_job_id": f"ftjob-Twice{secrets.token_hex(4)}"},
        }
        before = fake.jobs_created
        first = await provider.submit(request)
        again = await provider.submit(request)
        assert again.id == first.id and fake.jobs_created - before == 1
        assert fake.requests_to("POST", CREATES) >= 2
        listed = await provider.http.request(
            "GET", f"/accounts/{ACCOUNT}/supervisedFineTuningJobs", params={"pageSize": 1}
        )
        token = listed.json()["nextPageToken"]
        assert len(listed.json()["supervisedFineTuningJobs"]) == 1 and token
        second = await provider.http.request(
            "GET", f"/accounts/{ACCOUNT}/supervisedFineTuningJobs", params={"pageSize": 1, "pageToken": token}
        )
        assert (
            second.json()["supervisedFineTuningJobs"][0]["name"]
            != listed.json()["supervisedFineTuningJobs"][0]["name"]
        )
    finally:
        await provider.close()


def test_without_upstream_estimates_a_jobs_estimated_cost_reserves_nothing_more(
    server: RunningServer, fake: FakeFireworks, wire: WireChecker
):
    admin = Admin(server.base_url)
    project = admin.create_project(f"no-estimates-{secrets.token_hex(4)}")
    client = sdk_client(server, admin.create_key(project["id"])["value"], wire)
    fake.script_next_job(step_seconds=0.3)
    job = create(client, n_epochs=2)
    wait_for_status(client, job.id, {"running"})
    [upstream] = [item for item in fake.jobs() if item["displayName"] == job.id]
    assert int(upstream["estimatedCost"]["units"]) * 10**9 + upstream["estimatedCost"]["nanos"] > 0
    time.sleep(1.0)  # several looks at the running job
    (row,) = admin.usage(project_id=project["id"], group_by="project")["data"]
    assert row["reserved_usd"] == 0.0  # ftgate's quote of its $0 model, not Fireworks' figure
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    client.close()
    admin.close()


def create_dpo(client: openai.OpenAI, beta: float, n_epochs: int, **extra: object):
    content = "".join(PREFERENCE % i for i in range(12)).encode()
    file_id = upload(client, "preferences.jsonl", content)
    method = {"type": "dpo", "dpo": {"hyperparameters": {"beta": beta, "n_epochs": n_epochs}}}
    return client.fine_tuning.jobs.create(model=LLAMA, training_file=file_id, method=method, **extra)


def test_a_dpo_job_runs_as_a_fireworks_dpo_job_with_its_beta(
    client: openai.OpenAI, fake: FakeFireworks, jobs_before: int
):
    creates_before = (fake.requests_to("POST", CREATES), fake.requests_to("POST", DPO_CREATES))
    job = create_dpo(client, beta=0.2, n_epochs=2, suffix="prefs")
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "succeeded", done.error
    [fireworks] = made_since(fake, jobs_before)
    output = f"accounts/{ACCOUNT}/models/prefs-{fireworks['id']}"
    assert fireworks["id"] == fireworks_wire.job_id(job.id)
    assert fireworks["name"] == f"accounts/{ACCOUNT}/dpoJobs/{fireworks['id']}"
    resolved = done.method.dpo.hyperparameters  # as ftgate resolved "auto" at create
    assert fireworks["request"] == {
        "displayName": job.id,
        "dataset": fireworks["dataset"],
        "trainingConfig": {
            "baseModel": FIREWORKS_LLAMA,
            "outputModel": output,
            "epochs": 2,
            "learningRate": pytest.approx(1e-4 * resolved.learning_rate_multiplier),
            "batchSizeSamples": resolved.batch_size,
        },
        "lossConfig": {"method": "DPO", "dpo": {"beta": 0.2}},
    }
    assert done.fine_tuned_model == output
    assert done.method.type == "dpo" and done.method.dpo.hyperparameters.beta == 0.2
    creates = (fake.requests_to("POST", CREATES), fake.requests_to("POST", DPO_CREATES))
    assert creates == (creates_before[0], creates_before[1] + 1)
    assert fake.requests_to("GET", rf"/dpoJobs/{fireworks['id']}$") >= 1
    messages = [event.message for event in chronological_events(client, job.id)]
    assert "Epoch 1 completed" in messages and "Epoch 2 completed" in messages
    assert messages[-1] == "The job has successfully completed"


def test_a_dpo_job_is_cancelled_at_its_resource_name(
    client: openai.OpenAI, fake: FakeFireworks, jobs_before: int
):
    fake.script_next_job(step_seconds=0.3)
    job = create_dpo(client, beta=0.1, n_epochs=3)
    wait_for_status(client, job.id, {"running"})
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    [fireworks] = made_since(fake, jobs_before)
    wait_for_upstream(fake, fireworks["id"], {"CANCELLED"})
    assert fake.requests_to("POST", rf"/dpoJobs/{fireworks['id']}:cancel$") == 1
    assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"


def test_a_dpo_create_whose_answer_was_lost_is_found_at_its_resource_name_not_sent_again(
    client: openai.OpenAI, fake: FakeFireworks, jobs_before: int
):
    creates_before = fake.requests_to("POST", DPO_CREATES)
    fake.add_fault("POST", DPO_CREATES, "drop_after", times=1)
    job = create_dpo(client, beta=0.1, n_epochs=1)
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "succeeded", done.error
    [fireworks] = made_since(fake, jobs_before)
    assert done.fine_tuned_model == fireworks["trainingConfig"]["outputModel"]
    assert fake.requests_to("POST", DPO_CREATES) - creates_before == 1
