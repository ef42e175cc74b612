"""Another project's objects answer 404 exactly like unknown ids, on every endpoint."""

import openai
import pytest

from tests.conftest import TINY_MODEL
from tests.support.jobs import upload
from tests.support.tuned_models import seed_tuned_model

UNKNOWN_FILE = "file-0000000000000000000000"
UNKNOWN_JOB = "ftjob-000000000000000000000000"


@pytest.fixture
def owner(make_client) -> openai.OpenAI:
    return make_client()


@pytest.fixture
def owner_objects(owner: openai.OpenAI) -> tuple[str, str]:
    file_id = upload(owner, "elle-limericks.jsonl")
    job_id = owner.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id).id
    return file_id, job_id


def calls(client: openai.OpenAI, file_id: str, job_id: str):
    jobs = client.fine_tuning.jobs
    return {
        "files.retrieve": lambda: client.files.retrieve(file_id),
        "files.content": lambda: client.files.content(file_id),
        "files.delete": lambda: client.files.delete(file_id),
        "files.validation": lambda: client.get(f"/files/{file_id}/validation", cast_to=object),
        "files.quote": lambda: client.get(
            f"/files/{file_id}/quote", cast_to=object, options={"params": {"model": "gpt-4o-mini"}}
        ),
        "jobs.retrieve": lambda: jobs.retrieve(job_id),
        "jobs.cancel": lambda: jobs.cancel(job_id),
        "jobs.pause": lambda: jobs.pause(job_id),
        "jobs.resume": lambda: jobs.resume(job_id),
        "jobs.list_events": lambda: jobs.list_events(job_id),
        "jobs.checkpoints": lambda: jobs.checkpoints.list(job_id),
    }


def error_of(call) -> tuple[int, dict]:
    with pytest.raises(openai.APIStatusError) as raised:
        call()
    error = raised.value
    body = dict(error.body)
    body["message"] = body["message"].replace(error.body["message"].split()[-1], "<id>")
    return error.status_code, body


def test_foreign_ids_look_exactly_like_unknown_ids(make_client, owner_objects):
    intruder = make_client()
    foreign = calls(intruder, *owner_objects)
    unknown = calls(intruder, UNKNOWN_FILE, UNKNOWN_JOB)
    for name in foreign:
        status, body = error_of(foreign[name])
        assert status == 404, name
        assert (status, body) == error_of(unknown[name]), name


def test_foreign_ids_cannot_be_used_to_create_jobs(make_client, owner_objects):
    intruder = make_client()
    with pytest.raises(openai.BadRequestError) as raised:
        intruder.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=owner_objects[0])
    assert raised.value.param == "training_file"


def test_lists_show_only_the_callers_objects(make_client, owner_objects):
    intruder = make_client()
    assert list(intruder.files.list()) == []
    assert list(intruder.fine_tuning.jobs.list()) == []
    with pytest.raises(openai.BadRequestError):
        intruder.files.list(after=owner_objects[0])
    with pytest.raises(openai.BadRequestError):
        intruder.fine_tuning.jobs.list(after=owner_objects[1])


def test_owner_objects_survive_intrusion_attempts(make_client, owner: openai.OpenAI, owner_objects):
    file_id, job_id = owner_objects
    intruder = make_client()
    for call in calls(intruder, file_id, job_id).values():
        with pytest.raises(openai.NotFoundError):
            call()
    assert owner.files.retrieve(file_id).id == file_id
    assert owner.files.content(file_id).content.startswith(b'{ "messages"')
    assert owner.fine_tuning.jobs.retrieve(job_id).status in ("validating_files", "queued")


def test_foreign_models_answer_chat_exactly_like_unknown_models(server, make_client, tiny_model):
    owner = make_client()
    tuned = seed_tuned_model(server.settings, owner.api_key, TINY_MODEL, tiny_model, steps=[3])
    intruder = make_client()
    messages = [{"role": "user", "content": "Hi"}]

    def chat_error(name: str) -> tuple[int, dict]:
        with pytest.raises(openai.APIStatusError) as raised:
            intruder.chat.completions.create(model=name, messages=messages)
        body = dict(raised.value.body)
        body["message"] = body["message"].replace(name, "<model>")
        return raised.value.status_code, body

    for name in (tuned.name, tuned.checkpoints[3]):
        assert owner.chat.completions.create(model=name, messages=messages, max_tokens=2).model == name
        status, body = chat_error(name)
        assert status == 404 and body["code"] == "model_not_found"
        assert (status, body) == chat_error(name[:-4] + "zzzz")
