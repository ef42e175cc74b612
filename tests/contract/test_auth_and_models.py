"""Authentication bodies, unknown routes, and the Models API."""

import httpx2
import openai
import pytest

from tests.support.jobs import upload


def test_missing_key_is_401_with_openais_body(server):
    response = httpx2.get(f"{server.base_url}/v1/files")
    assert response.status_code == 401
    assert response.headers["x-request-id"].startswith("req_")
    error = response.json()["error"]
    assert error["message"].startswith("You didn't provide an API key.")
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", None, None)


def test_wrong_key_is_401_invalid_api_key(server, wire):
    client = openai.OpenAI(
        base_url=f"{server.base_url}/v1",
        api_key="sk-ftg-not-a-real-key-0000",
        max_retries=0,
        http_client=httpx2.Client(event_hooks={"response": [wire]}),
    )
    with pytest.raises(openai.AuthenticationError) as raised:
        client.files.list()
    assert raised.value.code == "invalid_api_key"
    assert "sk-ftg-not***0000" in raised.value.message
    assert raised.value.request_id.startswith("req_")


def test_unknown_route_is_a_404_envelope(server):
    response = httpx2.get(f"{server.base_url}/v1/nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid URL (GET /v1/nowhere)"
    assert response.headers["x-request-id"].startswith("req_")


def test_models_lists_base_models_and_retrieves_aliases(client: openai.OpenAI):
    ids = [model.id for model in client.models.list()]
    assert "gpt-4o-mini-2024-07-18" in ids and "gpt-4.1-2025-04-14" in ids
    assert client.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.retrieve("ft:gpt-4o-mini-2024-07-18:nobody::abcdefgh")
    assert raised.value.code == "model_not_found"


def test_base_models_cannot_be_deleted(client: openai.OpenAI):
    with pytest.raises(openai.PermissionDeniedError):
        client.models.delete("gpt-4o-mini-2024-07-18")
    with pytest.raises(openai.NotFoundError):
        client.models.delete("ft:gpt-4o-mini-2024-07-18:nobody::abcdefgh")


def test_every_response_carries_a_request_id(client: openai.OpenAI):
    file_id = upload(client, "elle-limericks.jsonl")
    raw = client.files.with_raw_response.retrieve(file_id)
    assert raw.headers["x-request-id"].startswith("req_")
