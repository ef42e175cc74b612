"""Jobs on a model that an upstream serves, driven with the official SDK: sent exactly once, their
whole life mirrored back, the client's actions carried there, through the upstream's faults."""

import base64
import json
import logging
import re
import secrets
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.conftest import sdk_client
from tests.support.admin import Admin
from tests.support.fake_upstream import FakeUpstream
from tests.support.jobs import upload, wait_for_status
from tests.support.server import RunningServer
from tests.support.upstream import (
    ACTION_TEXTS,
    OWN_TEXTS,
    UPSTREAM_KEY,
    assert_never_shown,
    chronological_events,
    create_job,
    mirrored_texts,
    supervised,
    the_upstream_job,
    upstream_fixtures,
    upstream_jobs_of,
    upstream_server,
)
from tests.support.wire import WireChecker

FINISHED = {"succeeded", "failed", "cancelled"}


def scripted_upstream() -> FakeUpstream:
    return FakeUpstream(api_key=UPSTREAM_KEY, step_seconds=0.02, validate_seconds=0.1, queue_seconds=0.1)


fake, server, tidy_fake, jobs_before = upstream_fixtures("upstream", scripted_upstream, upstream_server)


@pytest.fixture
def upstream_api(fake: FakeUpstream) -> Iterator[httpx.Client]:
    """The upstream as its own clients see it."""
    with httpx.Client(base_url=fake.base_url, headers={"authorization": f"Bearer {UPSTREAM_KEY}"}) as api:
        yield api


def create(client: openai.OpenAI, n_epochs: int = 2, **extra: object):
    return create_job(client, n_epochs, **extra)


def test_a_job_runs_upstream_and_its_whole_life_is_mirrored(
    client: openai.OpenAI, fake: FakeUpstream, upstream_api: httpx.Client
):
    job = create(client, n_epochs=3, suffix="elle")
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "succeeded", done.error
    upstream = the_upstream_job(fake, job.id)
    upstream_job = upstream_api.get(f"/fine_tuning/jobs/{upstream['id']}").json()
    assert done.fine_tuned_model == upstream_job["fine_tuned_model"]
    assert done.fine_tuned_model.startswith("ft:gpt-4o-mini-2024-07-18:upstream-org:elle:")
    assert done.trained_tokens == upstream_job["trained_tokens"] > 0
    assert done.finished_at == upstream_job["finished_at"]

    events = chronological_events(client, job.id)
    messages = [event.message for event in events]
    assert messages[:3] == [
        f"Created fine-tuning job: {job.id}",
        f"Validating training file: {job.training_file}",
        "Files validated, moving job to queued state",
    ]
    assert messages[3:] == mirrored_texts(fake, upstream["id"])
    steps = [event.data["step"] for event in events if event.type == "metrics"]
    assert steps == list(range(1, 31))
    assert messages[-2:] == [
        f"New fine-tuned model created: {done.fine_tuned_model}",
        "The job has successfully completed",
    ]

    upstream_checkpoints = upstream_api.get(f"/fine_tuning/jobs/{upstream['id']}/checkpoints").json()["data"]
    checkpoints = list(client.fine_tuning.jobs.checkpoints.list(job.id))
    assert [(c.step_number, c.fine_tuned_model_checkpoint) for c in checkpoints] == [
        (c["step_number"], c["fine_tuned_model_checkpoint"]) for c in upstream_checkpoints
    ]
    assert checkpoints[0].fine_tuned_model_checkpoint == done.fine_tuned_model

    [result_id] = done.result_files
    [upstream_result] = upstream_job["result_files"]
    body = client.files.content(result_id).read()
    assert body == upstream_api.get(f"/files/{upstream_result}/content").content
    assert base64.b64decode(body).decode().startswith("step,train_loss,train_accuracy,valid_loss,")
    described = client.files.retrieve(result_id)
    assert (described.purpose, described.filename) == ("fine-tune-results", "step_metrics.csv")


def test_a_file_is_uploaded_once_per_upstream(client: openai.OpenAI, fake: FakeUpstream):
    before = fake.requests_to("POST", r"/v1/files$")
    file_id = upload(client, "elle-limericks.jsonl")
    jobs = [
        client.fine_tuning.jobs.create(
            model="gpt-4o-mini", training_file=file_id, validation_file=file_id, method=supervised(1)
        )
        for _ in range(3)
    ]
    for job in jobs:
        assert wait_for_status(client, job.id, FINISHED).status == "succeeded"
    assert fake.requests_to("POST", r"/v1/files$") - before == 1


def test_files_the_upstream_lost_are_uploaded_again_once_and_the_job_sent_once(
    client: openai.OpenAI, fake: FakeUpstream
):
    training_file = upload(client, "elle-limericks.jsonl")
    validation_file = upload(client, "elle-limericks.jsonl")
    first = client.fine_tuning.jobs.create(
        model="gpt-4o-mini",
        training_file=training_file,
        validation_file=validation_file,
        method=supervised(1),
    )
    assert wait_for_status(client, first.id, FINISHED).status == "succeeded"
    lost = the_upstream_job(fake, first.id)
    fake.forget_files()  # the upstream restarted without them
    creates_before = len(
        [r for r in fake.requests if r["path"] == "/v1/fine_tuning/jobs" and r["method"] == "POST"]
    )
    uploads_before = fake.files_uploaded
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini",
        training_file=training_file,
        validation_file=validation_file,
        method=supervised(1),
    )
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "succeeded", done.error
    # Refused for the training file, then for the validation file, each uploaded again once.
    creates = [
        r["status"] for r in fake.requests if r["path"] == "/v1/fine_tuning/jobs" and r["method"] == "POST"
    ]
    assert creates[creates_before:] == [400, 400, 200]
    assert fake.files_uploaded - uploads_before == 2
    upstream = the_upstream_job(fake, job.id)
    assert upstream["training_file"] != lost["training_file"]
    assert upstream["validation_file"] != lost["validation_file"]
    assert [event.level for event in chronological_events(client, job.id)].count("error") == 0
    # The new copies are cached again: the next job uploads nothing.
    again = client.fine_tuning.jobs.create(
        model="gpt-4o-mini", training_file=training_file, method=supervised(1)
    )
    assert wait_for_status(client, again.id, FINISHED).status == "succeeded"
    assert fake.files_uploaded - uploads_before == 2


def test_a_file_lost_again_after_its_new_upload_fails_the_job_with_the_upstreams_words(
    client: openai.OpenAI, fake: FakeUpstream
):
    training_file = upload(client, "elle-limericks.jsonl")
    first = client.fine_tuning.jobs.create(
        model="gpt-4o-mini", training_file=training_file, method=supervised(1)
    )
    assert wait_for_status(client, first.id, FINISHED).status == "succeeded"
    fake.forget_files()
    fake.lose_uploads()
    try:
        uploads_before = fake.files_uploaded
        job = client.fine_tuning.jobs.create(
            model="gpt-4o-mini", training_file=training_file, method=supervised(1)
        )
        done = wait_for_status(client, job.id, FINISHED)
    finally:
        fake.lose_uploads(False)
    assert fake.files_uploaded - uploads_before == 1  # once, not in a loop
    assert upstream_jobs_of(fake, job.id) == []
    assert done.status == "failed"
    assert (done.error.code, done.error.param) == ("upstream_error", "training_file")
    lost_again = re.fullmatch(
        r"The upstream refused the job: invalid training_file: (file-\w+)", done.error.message
    )
    assert lost_again and lost_again[1] != the_upstream_job(fake, first.id)["training_file"]
    last = chronological_events(client, job.id)[-1]
    assert (last.level, last.message) == ("error", done.error.message)


def test_upstream_faults_delay_a_job_but_lose_and_repeat_nothing(client: openai.OpenAI, fake: FakeUpstream):
    fake.add_fault("POST", r"/fine_tuning/jobs$", "status", status=429, retry_after=1, times=2)
    fake.add_fault("POST", r"/v1/files$", "status", status=503, times=1)
    fake.add_fault("GET", r"/events$", "status", status=500, times=4)
    fake.add_fault("GET", r"/events$", "drop", times=3)
    fake.add_fault("GET", r"/fine_tuning/jobs/[^/]+$", "timeout", seconds=3, times=2)
    fake.add_fault("GET", r"/events$", "duplicate", times=6)
    fake.add_fault("GET", r"/events$", "shuffle", times=6)
    fake.add_fault("GET", r"/checkpoints$", "status", status=502, times=3)
    job = create(client, n_epochs=3)
    done = wait_for_status(client, job.id, FINISHED, timeout=90)
    assert done.status == "succeeded", done.error
    upstream = the_upstream_job(fake, job.id)
    messages = [event.message for event in chronological_events(client, job.id)]
    expected = mirrored_texts(fake, upstream["id"])
    assert sorted(messages[3:]) == sorted(expected)
    assert len(messages) == len(set(messages)), "an event was recorded twice"
    assert len(list(client.fine_tuning.jobs.checkpoints.list(job.id))) == 3


def test_a_create_whose_answer_was_lost_is_looked_up_not_sent_again(
    client: openai.OpenAI, fake: FakeUpstream
):
    before = fake.requests_to("POST", r"/fine_tuning/jobs$")
    fake.add_fault("POST", r"/fine_tuning/jobs$", "drop_after", times=1)
    job = create(client)
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "succeeded", done.error
    the_upstream_job(fake, job.id)
    assert fake.requests_to("POST", r"/fine_tuning/jobs$") - before == 1


def test_a_create_that_lands_upstream_after_ftgate_gave_up_on_it_is_found_not_sent_again(
    client: openai.OpenAI, fake: FakeUpstream
):
    # ftgate waits 1 s for an answer; the upstream makes the job 6 s after the request came.
    before = fake.requests_to("POST", r"/fine_tuning/jobs$")
    fake.add_fault("POST", r"/fine_tuning/jobs$", "timeout", times=1, seconds=6)
    sent = time.monotonic()
    job = create(client)
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "succeeded", done.error
    time.sleep(max(0.0, sent + 7 - time.monotonic()))  # until the slow create has landed
    the_upstream_job(fake, job.id)
    assert fake.requests_to("POST", r"/fine_tuning/jobs$") - before == 1


def test_the_upstreams_final_refusal_fails_the_job_with_its_words(client: openai.OpenAI, fake: FakeUpstream):
    fake.add_fault("POST", r"/fine_tuning/jobs$", "status", status=400, times=1)
    job = create(client)
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "failed"
    assert done.error.message.startswith("The upstream refused the job: ")
    assert upstream_jobs_of(fake, job.id) == []
    last = chronological_events(client, job.id)[-1]
    assert (last.level, last.message) == ("error", done.error.message)


def test_an_upstream_failure_is_mirrored(client: openai.OpenAI):
    job = create(client, metadata={"fake_outcome": "fail"})
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "failed"
    assert done.error.model_dump() == {
        "code": "server_error",
        "message": "The job failed due to an internal error.",
        "param": None,
    }
    errors = [event for event in chronological_events(client, job.id) if event.level == "error"]
    assert [event.message for event in errors] == ["The job failed due to an internal error."]
    assert done.fine_tuned_model is None and done.result_files == []


def test_a_job_that_vanishes_upstream_fails_with_a_clear_code(client: openai.OpenAI):
    job = create(client, metadata={"fake_outcome": "vanish"})
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "failed"
    assert done.error.code == "upstream_job_not_found"
    assert "no longer exists at its upstream fake" in done.error.message


def test_status_changes_without_upstream_events_still_get_events(client: openai.OpenAI):
    job = create(client, metadata={"fake_outcome": "silent"})
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "succeeded"
    events = chronological_events(client, job.id)
    messages = [event.message for event in events]
    assert messages.count("Fine-tuning job started") == 1
    first_step = next(index for index, event in enumerate(events) if event.type == "metrics")
    assert messages.index("Fine-tuning job started") < first_step
    assert messages[-2:] == [
        f"New fine-tuned model created: {done.fine_tuned_model}",
        "The job has successfully completed",
    ]


def wait_upstream(fake: FakeUpstream, upstream_id: str, status: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while fake.job(upstream_id)["status"] != status:
        assert time.monotonic() < deadline, f"upstream job is {fake.job(upstream_id)['status']}, not {status}"
        time.sleep(0.05)


def test_pause_resume_and_cancel_reach_the_upstream(client: openai.OpenAI, fake: FakeUpstream):
    job = create(client, n_epochs=3, metadata={"fake_step_seconds": "0.3"})
    wait_for_status(client, job.id, {"running"})
    upstream_id = the_upstream_job(fake, job.id)["id"]

    assert client.fine_tuning.jobs.pause(job.id).status == "paused"
    wait_upstream(fake, upstream_id, "paused")
    time.sleep(0.6)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "paused"

    assert client.fine_tuning.jobs.resume(job.id).status == "queued"
    wait_upstream(fake, upstream_id, "running")
    wait_for_status(client, job.id, {"running"})

    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    wait_upstream(fake, upstream_id, "cancelled")
    time.sleep(0.6)
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "cancelled"
    messages = [event.message for event in chronological_events(client, job.id)]
    for text in ACTION_TEXTS:
        assert messages.count(text) == 1, text


def test_a_pause_the_upstream_refuses_puts_the_job_back_with_its_reason(
    client: openai.OpenAI, fake: FakeUpstream
):
    job = create(client, n_epochs=3, metadata={"fake_step_seconds": "0.3"})
    wait_for_status(client, job.id, {"running"})
    upstream_id = the_upstream_job(fake, job.id)["id"]
    fake.add_fault("POST", rf"^/v1/fine_tuning/jobs/{upstream_id}/pause$", "status", status=400)

    assert client.fine_tuning.jobs.pause(job.id).status == "paused"
    wait_for_status(client, job.id, {"running"})
    assert fake.job(upstream_id)["status"] == "running"
    warnings = [event for event in chronological_events(client, job.id) if event.level == "warn"]
    assert [event.message for event in warnings] == [
        "The upstream did not pause the job: Injected fault: HTTP 400."
    ]
    client.fine_tuning.jobs.cancel(job.id)


def test_steps_the_upstream_made_just_before_a_cancel_are_mirrored(client: openai.OpenAI, fake: FakeUpstream):
    job = create(client, n_epochs=3, metadata={"fake_step_seconds": "0.2"})
    wait_for_status(client, job.id, {"running"})
    upstream_id = the_upstream_job(fake, job.id)["id"]

    def upstream_steps() -> int:
        return sum(1 for event in fake.events(upstream_id) if event["type"] == "metrics")

    # ftgate cannot read the job's events for a while; the upstream goes on training meanwhile.
    fake.add_fault("GET", rf"/{upstream_id}/events$", "status", status=503, times=10_000)
    unread = upstream_steps() + 3
    deadline = time.monotonic() + 20
    while upstream_steps() < unread:
        assert time.monotonic() < deadline, "the upstream job stopped making steps"
        time.sleep(0.05)
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    wait_upstream(fake, upstream_id, "cancelled")
    fake.clear_faults()

    expected = mirrored_texts(fake, upstream_id)
    deadline = time.monotonic() + 20
    while (mirrored := mirrored_messages(client, job.id)) != expected:
        assert time.monotonic() < deadline, f"{len(mirrored)} upstream events shown of {len(expected)}"
        time.sleep(0.2)
    messages = [event.message for event in chronological_events(client, job.id)]
    assert messages.count("Fine tuning process stopping due to job cancellation") == 1


def mirrored_messages(client: openai.OpenAI, job_id: str) -> list[str]:
    """The job's events at ftgate but those ftgate wrote itself (its job, files and actions)."""
    return [
        event.message
        for event in chronological_events(client, job_id)
        if not event.message.startswith(OWN_TEXTS) and event.message not in ACTION_TEXTS
    ]


def test_a_job_cancelled_before_it_was_sent_never_reaches_the_upstream(
    client: openai.OpenAI, fake: FakeUpstream
):
    file_id = upload(client, "elle-limericks.jsonl")
    fake.add_fault("POST", r"/v1/files$", "status", status=503, times=30)
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
    time.sleep(0.5)
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    fake.clear_faults()
    time.sleep(1.5)
    assert upstream_jobs_of(fake, job.id) == []
    assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"


def test_chat_with_an_upstream_model_reaches_its_upstream_for_its_project_only(
    client: openai.OpenAI, make_client
):
    job = create(client, n_epochs=1, suffix="chat")
    model = wait_for_status(client, job.id, FINISHED).fine_tuned_model
    assert model is not None
    messages = [{"role": "user", "content": "Tell me about Gallium"}]
    answer = client.chat.completions.create(model=model, messages=messages)
    assert answer.choices[0].message.content == f"[{model}] Tell me about Gallium"
    assert answer.usage.total_tokens > 0
    streamed = client.chat.completions.create(model=model, messages=messages, stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices) == (
        f"[{model}] Tell me about Gallium"
    )
    base = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert base.choices[0].message.content.startswith("[gpt-4o-mini-2024-07-18] ")
    with pytest.raises(openai.NotFoundError) as refused:
        make_client().chat.completions.create(model=model, messages=messages)
    assert refused.value.code == "model_not_found"


def test_an_upstream_stream_is_billed_whether_or_not_the_caller_asked_for_its_usage(
    server: RunningServer, wire: WireChecker
):
    operator = Admin(server.base_url)
    project = operator.create_project(f"streams-{secrets.token_hex(4)}")
    client = sdk_client(server, operator.create_key(project["id"])["value"], wire)
    messages = [{"role": "user", "content": "Tell me about Gallium"}]
    usage = client.chat.completions.create(model="gpt-4o-mini", messages=messages).usage
    plain = list(client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True))
    assert plain and all(chunk.choices and chunk.usage is None for chunk in plain)
    with_usage = list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    assert with_usage[-1].choices == [] and with_usage[-1].usage == usage
    [row] = operator.usage(project_id=project["id"])["data"]
    assert row["chat_requests"] == 3
    assert (row["chat_prompt_tokens"], row["chat_completion_tokens"]) == (
        3 * usage.prompt_tokens,
        3 * usage.completion_tokens,
    )
    operator.close()


def test_the_upstream_key_never_shows(
    client: openai.OpenAI, fake: FakeUpstream, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    fake.add_fault("GET", r"/events$", "status", status=401, times=2)
    job = create(client, n_epochs=1)
    done = wait_for_status(client, job.id, FINISHED)
    assert done.status == "succeeded"
    assert_never_shown(client, job.id, caplog.text, UPSTREAM_KEY)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "x\ud800y"}]}, "messages[0].content"),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "\udfff"}]}]},
            "messages[0].content[0].text",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "\ud800"}}]}
                ]
            },
            "messages[0].content[0].image_url.url",
        ),
        ({"stop": ["a", "\ud800"]}, "stop[1]"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": "\ud800"}}},
            "response_format.json_schema.name",
        ),
    ],
)
def test_a_lone_surrogate_for_an_upstream_is_a_400_and_never_sent(
    server: RunningServer, fake: FakeUpstream, body: dict, param: str
):
    """The upstream gets the caller's body as it came; no HTTP client can encode a lone surrogate."""
    operator = Admin(server.base_url)
    key = operator.create_key(operator.create_project(f"surrogates-{secrets.token_hex(4)}")["id"])["value"]
    operator.close()
    chats_before = fake.requests_to("POST", r"/chat/completions$")
    response = httpx.post(
        f"{server.base_url}/v1/chat/completions",
        content=json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], **body}),
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
        timeout=30,
    )
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": {
                "message": f"Invalid value for '{param}': text must not contain a lone surrogate "
                "(an unpaired \\ud800-\\udfff escape).",
                "type": "invalid_request_error",
                "param": param,
                "code": "invalid_value",
            }
        },
    ), response.text
    assert fake.requests_to("POST", r"/chat/completions$") == chats_before
