"""Authentication bodies, unknown routes, and the Models API."""

from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest

from tests.conftest import TINY_MODEL, sdk_client, tiny_model_server
from tests.support.jobs import upload
from tests.support.server import RunningServer
from tests.support.wire import WireChecker


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


@pytest.fixture(scope="module")
def server_without_upstreams(
    tmp_path_factory: pytest.TempPathFactory, tiny_model: Path
) -> Iterator[RunningServer]:
    """The embedded default as installed: OpenAI's models in the catalog, no upstream for them."""
    with tiny_model_server(
        tmp_path_factory.mktemp("no-upstreams"), tiny_model, "sqlite", upstreams=[]
    ) as running:
        yield running


def test_models_whose_upstream_is_not_configured_are_neither_offered_nor_accepted(
    server_without_upstreams: RunningServer, wire: WireChecker
):
    server = server_without_upstreams
    client = sdk_client(server, server.create_key("no-upstreams"), wire)
    assert [model.id for model in client.models.list()] == [TINY_MODEL]
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.retrieve("gpt-4o-mini")
    assert raised.value.response.json() == {
        "error": {
            "message": "The model 'gpt-4o-mini' does not exist",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
    file_id = upload(client, "elle-limericks.jsonl")
    for model in ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"):
        refusal = {
            "error": {
                "message": f"Model {model} is not available for fine-tuning or does not exist.",
                "type": "invalid_request_error",
                "param": "model",
                "code": "model_not_available",
            }
        }
        with pytest.raises(openai.BadRequestError) as raised:
            client.fine_tuning.jobs.create(model=model, training_file=file_id)
        assert raised.value.response.json() == refusal
        with pytest.raises(openai.BadRequestError) as raised:
            client.get(f"/files/{file_id}/quote", cast_to=object, options={"params": {"model": model}})
        assert raised.value.response.json() == refusal
    assert list(client.fine_tuning.jobs.list()) == []
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
    assert raised.value.response.json() == {
        "error": {
            "message": "The model `gpt-4o-mini` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    }
    # The local model needs no upstream: it is offered and takes jobs.
    assert client.models.retrieve(TINY_MODEL).owned_by == "ftgate"
    assert client.fine_tuning.jobs.create(model=TINY_MODEL, training_file=file_id).model == TINY_MODEL
