"""Chats with a local base model that a vLLM or SGLang server serves, driven by the official SDK
through a real ftgate against the scripted servers: the base model and the adapters of its
fine-tuned models and checkpoints answered there (streamed and not, `n`, tools), in OpenAI's
shapes under the caller's model name, billed on the server's usage; refusals and failures as
defined errors."""

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from gateway import artifacts
from gateway.catalog import DEFAULT_BASE_MODELS, BaseModelSpec
from gateway.engines.config import EngineSpec
from tests.conftest import TINY_MODEL, sdk_client, tiny_model_server
from tests.support.admin import Admin
from tests.support.fake_engines import FakeEngine, FakeSglang, FakeVllm
from tests.support.server import RunningServer
from tests.support.tuned_models import TunedModel, seed_tuned_model
from tests.support.wire import WireChecker

LIMERICK = [{"role": "user", "content": "Write a limerick about Elle."}]
PRICES = {"chat_input_price_per_1m": 1.25, "chat_output_price_per_1m": 5.0}


FAKES: dict[str, type[FakeEngine]] = {"vllm": FakeVllm, "sglang": FakeSglang}
SERVED = [
    pytest.param(
        (kind, database),
        id=f"{kind}-{database}",
        marks=[pytest.mark.postgres] if database == "postgres" else [],
    )
    for kind in FAKES
    for database in ("sqlite", "postgres")
]


@pytest.fixture(scope="module", params=SERVED)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tiny_model: Path
) -> Iterator[tuple[FakeEngine, RunningServer]]:
    """A scripted server of the tiny model, and an ftgate whose tiny model it serves."""
    kind, database = request.param
    with FAKES[kind](TINY_MODEL) as fake:
        engine = EngineSpec(kind=kind, base_url=fake.root_url, api_key=fake.default_key, attempts=1)
        spec = BaseModelSpec(
            id=TINY_MODEL, owned_by="ftgate", provider="local", path=tiny_model, engine=engine, **PRICES
        )
        data_dir = tmp_path_factory.mktemp(f"served-{kind}-{database}")
        with tiny_model_server(
            data_dir, tiny_model, database, base_models=[*DEFAULT_BASE_MODELS, spec]
        ) as running:
            yield fake, running


@pytest.fixture(autouse=True)
def tidy(served: tuple[FakeEngine, RunningServer]) -> Iterator[None]:
    served[0].clear_faults()
    yield
    served[0].clear_faults()


@pytest.fixture
def fake(served: tuple[FakeEngine, RunningServer]) -> FakeEngine:
    return served[0]


@pytest.fixture
def server(served: tuple[FakeEngine, RunningServer]) -> RunningServer:
    return served[1]


@pytest.fixture
def admin(server: RunningServer) -> Iterator[Admin]:
    operator = Admin(server.base_url)
    yield operator
    operator.close()


@pytest.fixture
def project(
    server: RunningServer, admin: Admin, wire: WireChecker
) -> Iterator[tuple[str, str, openai.OpenAI]]:
    """A new project: its id, its key and an SDK client on it."""
    created = admin.create_project(f"team-{secrets.token_hex(4)}")
    key = admin.create_key(created["id"], "first")["value"]
    client = sdk_client(server, key, wire)
    yield created["id"], key, client
    client.close()


@pytest.fixture
def tuned(server: RunningServer, project, tiny_model: Path) -> TunedModel:
    return seed_tuned_model(server.settings, project[1], TINY_MODEL, tiny_model, steps=[5])


def served_name(fake: FakeEngine, folder: Path) -> str:
    """The model a chat with the adapter at `folder` named at the server."""
    [name] = [name for name, path in fake.adapters.items() if path == str(folder)]
    return name if isinstance(fake, FakeVllm) else f"{TINY_MODEL}:{name}"


def usage_by_model(admin: Admin, project_id: str) -> dict[str, tuple[int, int, int]]:
    rows = admin.usage(project_id=project_id, group_by="model")["data"]
    return {
        row["model"]: (row["chat_requests"], row["chat_prompt_tokens"], row["chat_completion_tokens"])
        for row in rows
    }


def test_the_base_model_is_answered_by_the_server_as_ftgates_own(fake, project):
    client = project[2]
    completion = client.chat.completions.create(model=TINY_MODEL, messages=LIMERICK, max_tokens=50)
    assert completion.model == TINY_MODEL and completion.system_fingerprint.startswith("fp_")
    assert completion.choices[0].message.content == f"{TINY_MODEL}: Write a limerick about Elle."
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 6)
    assert fake.bodies[-1]["model"] == TINY_MODEL


def test_fine_tuned_models_and_checkpoints_answer_through_their_adapters(fake, server, project, tuned):
    client = project[2]
    assert server.settings.artifacts_dir is not None
    model_dir = artifacts.model_dir(server.settings.artifacts_dir, tuned.job_id)
    checkpoint_dir = artifacts.checkpoint_dir(server.settings.artifacts_dir, tuned.job_id, 5)
    for name, folder in ((tuned.name, model_dir), (tuned.checkpoints[5], checkpoint_dir)):
        completion = client.chat.completions.create(model=name, messages=LIMERICK)
        assert completion.model == name
        assert (
            completion.choices[0].message.content
            == f"{served_name(fake, folder.resolve())}: Write a limerick about Elle."
        )
    assert fake.bodies[-2]["model"] != fake.bodies[-1]["model"]


def test_a_stream_is_passed_on_and_billed_on_the_servers_usage(fake, admin, project, tuned):
    project_id, _, client = project
    chunks = list(
        client.chat.completions.create(
            model=tuned.name, messages=LIMERICK, stream=True, stream_options={"include_usage": True}
        )
    )
    assert {chunk.model for chunk in chunks} == {tuned.name}
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text.endswith(": Write a limerick about Elle.")
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage is not None
    unasked = list(client.chat.completions.create(model=tuned.name, messages=LIMERICK, stream=True))
    assert all(chunk.usage is None for chunk in unasked), "usage is shown only to who asks"
    assert fake.bodies[-1]["stream_options"] == {"include_usage": True}, "yet the server is asked for it"
    twice = (2, 2 * usage.prompt_tokens, 2 * usage.completion_tokens)
    assert usage_by_model(admin, project_id)[tuned.name] == twice


def test_n_and_tools_reach_the_server(fake, project, tuned):
    tools = [{"type": "function", "function": {"name": "rhyme", "parameters": {"type": "object"}}}]
    completion = project[2].chat.completions.create(model=tuned.name, messages=LIMERICK, n=2, tools=tools)
    assert [choice.index for choice in completion.choices] == [0, 1]
    assert completion.usage.completion_tokens == 2 * len(completion.choices[0].message.content.split())
    assert fake.bodies[-1]["n"] == 2 and fake.bodies[-1]["tools"] == tools


def test_an_adapter_above_the_servers_rank_is_refused_with_a_400(fake, server, project, tuned):
    assert server.settings.artifacts_dir is not None
    config = artifacts.model_dir(server.settings.artifacts_dir, tuned.job_id) / "adapter_config.json"
    config.write_text(json.dumps(json.loads(config.read_text()) | {"r": 64}))
    loads = len(fake.loads)
    with pytest.raises(openai.BadRequestError) as refused:
        project[2].chat.completions.create(model=tuned.name, messages=LIMERICK)
    assert refused.value.code == "model_not_servable" and refused.value.param == "model"
    assert "its LoRA rank 64 is above the server's --max-lora-rank 16" in refused.value.message
    assert len(fake.loads) == loads


def test_a_failing_server_is_a_503_that_is_not_billed(fake, admin, project, tuned):
    project_id, _, client = project
    fake.add_fault("POST", "/v1/chat/completions", "status", status=500)
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(model=tuned.name, messages=LIMERICK)
    assert failed.value.status_code == 503
    assert failed.value.body["message"] == (
        f"The server that serves the model `{tuned.name}` is unavailable. Please try again later."
    )
    assert tuned.name not in usage_by_model(admin, project_id)
