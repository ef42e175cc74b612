"""Bad input gets a clear 400 (or a failed job naming the line) and never a 500."""

import json
import re
import secrets

import httpx2
import openai
import pytest

from tests.conftest import TEST_MAX_UPLOAD_BYTES
from tests.support.admin import ADMIN_KEY, Admin
from tests.support.jobs import chat_lines, upload, wait_until_validated

GOOD = chat_lines(12)


def failed_job(client: openai.OpenAI, content: bytes) -> openai.types.fine_tuning.FineTuningJob:
    file_id = upload(client, "data.jsonl", content)
    job = wait_until_validated(
        client, client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id).id
    )
    assert job.status == "failed", job
    return job


def line(messages: list[dict], **extra: object) -> bytes:
    return (json.dumps({"messages": messages, **extra}) + "\n").encode()


USER = {"role": "user", "content": "Hi"}
ASSISTANT = {"role": "assistant", "content": "Hello"}


@pytest.mark.parametrize(
    ("bad_line", "fragment"),
    [
        (b'{"messages": [\n', "13"),
        (b"[1, 2]\n", "13"),
        (line([USER]), "13"),
        (line([{"role": "robot", "content": "beep"}, ASSISTANT]), "13"),
        (line([USER, {**ASSISTANT, "mood": "grumpy"}]), "13"),
        (line([USER, {**ASSISTANT, "weight": 2}]), "13"),
        (line([{**USER, "weight": 1}, ASSISTANT]), "13"),
        (line([USER, ASSISTANT], weight=1), "13"),
        (line([USER, {"role": "assistant"}]), "13"),
        (b"\xff\xfe not utf-8\n", "13"),
    ],
    ids=[
        "malformed-json",
        "not-an-object",
        "no-assistant",
        "bad-role",
        "bad-key",
        "weight-2",
        "weight-on-user",
        "top-level-weight",
        "missing-content",
        "non-utf8",
    ],
)
def test_bad_line_fails_the_job_naming_the_line(client: openai.OpenAI, bad_line: bytes, fragment: str):
    job = failed_job(client, GOOD + bad_line)
    assert job.error.code == "invalid_training_file"
    assert job.error.param == "training_file"
    assert job.error.message.startswith(
        "The job failed due to an invalid training file. Invalid file format."
    )
    assert re.search(rf"\b(Line|Example) {fragment}\b", job.error.message), job.error.message
    report = client.get(f"/files/{job.training_file}/validation", cast_to=object)
    assert [issue["line"] for issue in report["issues"]] == [13]


def test_empty_file_fails_with_invalid_n_examples(client: openai.OpenAI):
    job = failed_job(client, b"")
    assert job.error.code == "invalid_n_examples"
    assert job.error.message == "Training file has 0 example(s), but must have at least 10 examples"


def test_last_line_without_newline_is_an_example(client: openai.OpenAI):
    content = chat_lines(10).rstrip(b"\n")
    file_id = upload(client, "data.jsonl", content)
    job = wait_until_validated(
        client, client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id).id
    )
    assert job.status == "queued"


def test_every_bad_line_is_reported_with_its_number(client: openai.OpenAI):
    content = b'{"nope": 1}\n' + GOOD + b"{bad json\n"
    file_id = upload(client, "data.jsonl", content)
    report = client.get(f"/files/{file_id}/validation", cast_to=object)
    assert [issue["line"] for issue in report["issues"]] == [1, 14]
    assert report["n_examples"] == 12


def test_oversize_upload_is_413_and_stores_nothing(client: openai.OpenAI):
    with pytest.raises(openai.APIStatusError) as raised:
        upload(client, "big.jsonl", b"x" * (TEST_MAX_UPLOAD_BYTES + 1))
    assert raised.value.status_code == 413
    assert raised.value.body["type"] == "invalid_request_error"
    assert list(client.files.list()) == []


def test_fine_tune_file_must_be_jsonl(client: openai.OpenAI):
    with pytest.raises(openai.BadRequestError) as raised:
        upload(client, "data.csv", GOOD)
    assert raised.value.message.endswith("Invalid file format for Fine-Tuning API. Must be .jsonl")
    assert list(client.files.list()) == []


@pytest.mark.parametrize("purpose", ["fine_tune", "fine-tune-results", ""])
def test_wrong_purpose_is_a_400_naming_purpose(client: openai.OpenAI, purpose: str):
    with pytest.raises(openai.BadRequestError) as raised:
        upload(client, "data.jsonl", GOOD, purpose=purpose)
    assert raised.value.param == "purpose"


def test_upload_without_a_file_part_is_a_400(client: openai.OpenAI):
    with pytest.raises(openai.BadRequestError) as raised:
        client.post(
            "/files",
            cast_to=object,
            body={"purpose": "fine-tune"},
            options={"headers": {"content-type": "multipart/form-data"}},
            files=[],
        )
    assert raised.value.status_code == 400


def test_training_file_with_another_purpose_is_refused(client: openai.OpenAI):
    file_id = upload(client, "data.jsonl", GOOD, purpose="user_data")
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
    assert raised.value.param == "training_file"


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"suffix": "x" * 65}, "suffix"),
        ({"suffix": "has:colon"}, "suffix"),
        ({"seed": -1}, "seed"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"k": "v" * 513}}, "metadata.k"),
        (
            {"method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 0}}}},
            "method.supervised.hyperparameters.n_epochs",
        ),
        (
            {"method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 3}}}},
            "method.dpo.hyperparameters.beta",
        ),
        ({"method": {"type": "reinforcement"}}, "method.type"),
        ({"method": {"type": "sft"}}, "method.type"),
        ({"hyperparameters": {"batch_size": 512}}, "hyperparameters.batch_size"),
        ({"integrations": [{"type": "slack"}]}, "integrations[0].type"),
        ({"model": "gpt-9-ultra"}, "model"),
        ({"training_file": "file-doesnotexist"}, "training_file"),
        ({"validation_file": "file-doesnotexist"}, "validation_file"),
    ],
)
def test_invalid_create_parameters_are_400_with_param(client: openai.OpenAI, overrides: dict, param: str):
    arguments = {"model": "gpt-4o-mini", "training_file": upload(client, "d.jsonl", GOOD), **overrides}
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(**arguments)
    assert raised.value.param == param
    assert raised.value.type == "invalid_request_error"


def test_missing_required_field_names_it(client: openai.OpenAI):
    with pytest.raises(openai.BadRequestError) as raised:
        client.post("/fine_tuning/jobs", cast_to=object, body={"model": "gpt-4o-mini"})
    assert raised.value.param == "training_file"
    assert raised.value.message.endswith("Missing required parameter: 'training_file'.")


def test_invalid_json_body_is_a_400(server, client: openai.OpenAI):
    response = httpx2.post(
        f"{server.base_url}/v1/fine_tuning/jobs",
        content=b"{not json",
        headers={"authorization": f"Bearer {client.api_key}", "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "could not parse the JSON body" in response.json()["error"]["message"]


@pytest.mark.parametrize("limit", [0, 10001])
def test_limit_out_of_range_is_a_400(client: openai.OpenAI, limit: int):
    with pytest.raises(openai.BadRequestError) as raised:
        client.files.list(limit=limit)
    assert raised.value.param == "limit"


def test_a_known_bad_purpose_is_refused_before_the_body_streams(client: openai.OpenAI):
    # Streamed to the end, this body would trip the size limit (413) first.
    with pytest.raises(openai.BadRequestError) as raised:
        upload(client, "data.jsonl", b"x" * (TEST_MAX_UPLOAD_BYTES + 1), purpose="fine-tune-results")
    assert raised.value.param == "purpose"


# ---------------------------------------------------------------------------------------------
# Text no database stores and no tokenizer or upstream takes; numbers the databases cannot hold
# ---------------------------------------------------------------------------------------------

LONE = "x\ud800y"  # JSON's "\ud800" escape: a lone surrogate, which no UTF-8 encoder takes
NUL_TEXT = "x\x00y"  # PostgreSQL refuses NUL in text
LONE_MESSAGE = "text must not contain a lone surrogate (an unpaired \\ud800-\\udfff escape)"
NUL_MESSAGE = "text must not contain NUL characters"


def invalid_value(param: str, message: str) -> dict:
    return {
        "error": {
            "message": f"Invalid value for '{param}': {message}.",
            "type": "invalid_request_error",
            "param": param,
            "code": "invalid_value",
        }
    }


def send_json(server, key: str, method: str, path: str, body: object) -> httpx2.Response:
    """`body` as Python's json writes it, so a lone surrogate travels as its `\\ud800` escape and
    an infinite float as `Infinity`."""
    return httpx2.request(
        method,
        f"{server.base_url}{path}",
        content=json.dumps(body),
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
        timeout=60,
    )


def assert_refused(response: httpx2.Response, expected: dict) -> None:
    assert (response.status_code, response.json()) == (400, expected), response.text


USER_HI = {"role": "user", "content": "Hi"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": LONE}]}, "messages[0].content"),
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": LONE}]}]},
            "messages[0].content[0].text",
        ),
        ({"messages": [{**USER_HI, "name": LONE}]}, "messages[0].name"),
        (
            {
                "messages": [
                    USER_HI,
                    {
                        "role": "assistant",
                        "tool_calls": [{**CALL, "function": {"name": "f", "arguments": LONE}}],
                    },
                    {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
                ]
            },
            "messages[1].tool_calls[0].function.arguments",
        ),
        ({"messages": [USER_HI, {"role": "assistant", "content": LONE}]}, "messages[1].content"),
        ({"stop": LONE}, "stop"),
        ({"stop": ["a", LONE]}, "stop[1]"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "description": LONE}}]},
            "tools[0].function.description",
        ),
        (
            {
                "tools": [
                    {
                        "type": "function",
                        "function": {
                            "name": "f",
                            "parameters": {"type": "object", "properties": {"q": {"description": LONE}}},
                        },
                    }
                ]
            },
            "tools[0].function.parameters.properties.q.description",
        ),
        ({"model": LONE}, "model"),
        ({"user": LONE}, "user"),
        ({"metadata": {"k": LONE}}, "metadata.k"),
    ],
)
def test_lone_surrogate_in_a_local_chat_is_a_400_naming_the_field(
    server, client: openai.OpenAI, body: dict, param: str
):
    body = {"model": "tiny-chat", "messages": [USER_HI], "max_tokens": 1, **body}
    response = send_json(server, client.api_key, "POST", "/v1/chat/completions", body)
    assert_refused(response, invalid_value(param, LONE_MESSAGE))


@pytest.mark.parametrize(
    ("overrides", "param", "message"),
    [
        ({"metadata": {"k": LONE}}, "metadata.k", LONE_MESSAGE),
        ({"metadata": {LONE: "v"}}, "metadata", LONE_MESSAGE),
        ({"suffix": LONE}, "suffix", LONE_MESSAGE),
        ({"model": LONE}, "model", LONE_MESSAGE),
        ({"validation_file": LONE}, "validation_file", LONE_MESSAGE),
        (
            {"integrations": [{"type": "wandb", "wandb": {"project": LONE}}]},
            "integrations[0].wandb.project",
            LONE_MESSAGE,
        ),
        (
            {"integrations": [{"type": "wandb", "wandb": {"project": "p", "tags": [LONE]}}]},
            "integrations[0].wandb.tags[0]",
            LONE_MESSAGE,
        ),
        ({"metadata": {"k": NUL_TEXT}}, "metadata.k", NUL_MESSAGE),
        ({"suffix": NUL_TEXT}, "suffix", NUL_MESSAGE),
    ],
)
def test_unstorable_text_in_a_job_is_a_400_naming_the_field(
    server, client: openai.OpenAI, overrides: dict, param: str, message: str
):
    body = {"model": "gpt-4o-mini", "training_file": upload(client, "d.jsonl", GOOD), **overrides}
    response = send_json(server, client.api_key, "POST", "/v1/fine_tuning/jobs", body)
    assert_refused(response, invalid_value(param, message))


@pytest.fixture
def admin_objects(server) -> dict[str, str]:
    """A project and one of its keys, made by the operator."""
    operator = Admin(server.base_url)
    project = operator.create_project(f"bad-input-{secrets.token_hex(4)}")
    key = operator.create_key(project["id"])
    operator.close()
    return {"project": project["id"], "key": key["id"]}


@pytest.mark.parametrize(
    ("method", "path", "body", "param", "message"),
    [
        ("POST", "/admin/projects", {"name": NUL_TEXT}, "name", NUL_MESSAGE),
        ("POST", "/admin/projects", {"name": LONE}, "name", LONE_MESSAGE),
        (
            "POST",
            "/admin/projects",
            {"name": "p", "limits": {"models": [NUL_TEXT]}},
            "limits.models[0]",
            NUL_MESSAGE,
        ),
        ("POST", "/admin/projects/{project}/keys", {"name": NUL_TEXT}, "name", NUL_MESSAGE),
        ("POST", "/admin/projects/{project}/keys", {"name": LONE}, "name", LONE_MESSAGE),
        (
            "PUT",
            "/admin/projects/{project}/limits",
            {"models": ["gpt-4o-mini", NUL_TEXT]},
            "models[1]",
            NUL_MESSAGE,
        ),
        ("PUT", "/admin/projects/{project}/limits", {"models": [LONE]}, "models[0]", LONE_MESSAGE),
        ("PUT", "/admin/keys/{key}/limits", {"models": [NUL_TEXT]}, "models[0]", NUL_MESSAGE),
        ("PUT", "/admin/keys/{key}/limits", {"models": [LONE]}, "models[0]", LONE_MESSAGE),
        (
            "POST",
            "/admin/projects/{project}/webhooks",
            {"url": f"https://example.com/{LONE}"},
            "url",
            LONE_MESSAGE,
        ),
        (
            "POST",
            "/admin/projects/{project}/webhooks",
            {"url": f"https://example.com/{NUL_TEXT}"},
            "url",
            NUL_MESSAGE,
        ),
        (
            "POST",
            "/admin/projects/{project}/webhooks",
            {"url": "https://example.com/hook", "event_types": [LONE]},
            "event_types[0]",
            LONE_MESSAGE,
        ),
    ],
)
def test_unstorable_text_in_admin_fields_is_a_400_naming_the_field(
    server, admin_objects: dict[str, str], method: str, path: str, body: dict, param: str, message: str
):
    response = send_json(server, ADMIN_KEY, method, path.format(**admin_objects), body)
    assert_refused(response, invalid_value(param, message))


@pytest.mark.parametrize(
    ("path", "body", "param", "message"),
    [
        ("/admin/projects/{project}/limits", {"files": False}, "files", "Input should be a valid integer"),
        (
            "/admin/projects/{project}/limits",
            {"concurrent_jobs": True},
            "concurrent_jobs",
            "Input should be a valid integer",
        ),
        (
            "/admin/projects/{project}/limits",
            {"trained_tokens": True},
            "trained_tokens",
            "Input should be a valid integer",
        ),
        (
            "/admin/projects/{project}/limits",
            {"stored_bytes": False},
            "stored_bytes",
            "Input should be a valid integer",
        ),
        (
            "/admin/projects/{project}/limits",
            {"spend_usd": True},
            "spend_usd",
            "Input should be a valid number",
        ),
        (
            "/admin/projects/{project}/limits",
            {"spend_usd": float("inf")},
            "spend_usd",
            "Input should be a finite number",
        ),
        (
            "/admin/keys/{key}/limits",
            {"requests_per_minute": True},
            "requests_per_minute",
            "Input should be a valid integer",
        ),
        (
            "/admin/keys/{key}/limits",
            {"chat_tokens_per_minute": True},
            "chat_tokens_per_minute",
            "Input should be a valid integer",
        ),
        ("/admin/keys/{key}/limits", {"files": 1.0}, "files", "Input should be a valid integer"),
    ],
)
def test_limits_take_numbers_not_booleans(
    server, admin_objects: dict[str, str], path: str, body: dict, param: str, message: str
):
    response = send_json(server, ADMIN_KEY, "PUT", path.format(**admin_objects), body)
    assert_refused(response, invalid_value(param, message))


@pytest.mark.parametrize(
    ("query", "param", "message"),
    [
        (
            "start_time=-9223372036854775809",
            "start_time",
            "Input should be greater than or equal to -9223372036854775808",
        ),
        (
            "end_time=9223372036854775808",
            "end_time",
            "Input should be less than or equal to 9223372036854775807",
        ),
    ],
)
def test_usage_times_beyond_64_bits_are_a_400(server, query: str, param: str, message: str):
    response = httpx2.get(
        f"{server.base_url}/admin/usage?{query}", headers={"authorization": f"Bearer {ADMIN_KEY}"}, timeout=60
    )
    assert_refused(response, invalid_value(param, message))


def test_usage_times_beyond_what_the_columns_hold_bound_nothing_or_everything(server, client: openai.OpenAI):
    """`created_at` is 32 bits wide on PostgreSQL; any 64-bit bound still answers."""
    client.chat.completions.create(model="tiny-chat", messages=[USER_HI], max_tokens=1)

    def usage(**params: int) -> list:
        response = httpx2.get(
            f"{server.base_url}/admin/usage",
            params={"group_by": "project", **params},
            headers={"authorization": f"Bearer {ADMIN_KEY}"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        return response.json()["data"]

    everything = usage()
    assert everything
    assert usage(start_time=-(2**63), end_time=2**63 - 1) == everything
    assert usage(start_time=-(2**31) - 1, end_time=2**31) == everything
    assert usage(start_time=2**31) == usage(start_time=2**63 - 1) == []
    assert usage(end_time=-(2**31)) == usage(end_time=-(2**63)) == []
