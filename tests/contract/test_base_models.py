"""/v1/base_models: the models that can run here and where each runs (ftgate, or which upstream)."""

from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest

from tests.conftest import TINY_MODEL, tiny_model_server
from tests.support.server import RunningServer


def base_models(client: openai.OpenAI) -> list[dict]:
    answer = client.get("/base_models", cast_to=object)
    assert answer["object"] == "list"
    return answer["data"]


def test_local_models_come_first_then_each_upstreams_models(client: openai.OpenAI):
    listed = base_models(client)
    tiny, *upstream = listed
    assert tiny == {
        "id": TINY_MODEL,
        "object": "base_model",
        "created": tiny["created"],
        "owned_by": "ftgate",
        "aliases": [],
        "provider": "local",
        "upstream_model": None,
        "methods": ["supervised", "dpo"],
        "token_limit": tiny["token_limit"],
        "training_price_per_1m": 0.0,
        "chat_input_price_per_1m": 0.0,
        "chat_output_price_per_1m": 0.0,
    }
    mini = next(model for model in upstream if model["id"] == "gpt-4o-mini-2024-07-18")
    assert (mini["provider"], mini["upstream_model"], mini["aliases"]) == (
        "openai",
        "gpt-4o-mini-2024-07-18",
        ["gpt-4o-mini"],
    )
    assert mini["training_price_per_1m"] == 3.0
    assert {model["provider"] for model in upstream} == {"openai"}
    # The same models as /v1/models offers, less the project's fine-tuned ones.
    assert {model["id"] for model in listed} == {model.id for model in client.models.list()}


@pytest.fixture(scope="module")
def server_without_upstreams(
    tmp_path_factory: pytest.TempPathFactory, tiny_model: Path
) -> Iterator[RunningServer]:
    with tiny_model_server(
        tmp_path_factory.mktemp("no-upstreams"), tiny_model, "sqlite", upstreams=[]
    ) as running:
        yield running


def test_models_of_an_upstream_not_configured_here_are_not_listed(server_without_upstreams: RunningServer):
    server = server_without_upstreams
    client = openai.OpenAI(
        base_url=f"{server.base_url}/v1", api_key=server.create_key("local-only"), max_retries=0
    )
    assert [model["id"] for model in base_models(client)] == [TINY_MODEL]


def test_a_key_is_required(client: openai.OpenAI):
    response = httpx2.get(f"{client.base_url}base_models")
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("You didn't provide an API key.")
