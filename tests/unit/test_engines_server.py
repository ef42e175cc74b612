"""A vLLM or SGLang server driven over HTTP (gateway.engines.server), against the scripted fakes:
adapters loaded on demand and evicted least recently used, the server's /v1/models as the truth
that replicas share, answers reshaped as ftgate's, and failures as defined errors."""

import json
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path, PurePosixPath

import pytest

from gateway.engines.adapters import served_adapter
from gateway.engines.config import EngineSpec
from gateway.engines.server import AdapterServer
from gateway.engines.sglang import SglangServer
from gateway.engines.vllm import VllmServer
from gateway.errors import InvalidRequest, ServiceUnavailable
from tests.support.fake_engines import FakeEngine, FakeSglang, FakeVllm

BASE = "tiny-chat"
HELLO = {"messages": [{"role": "user", "content": "hello there"}]}
DIALECTS = {"vllm": (FakeVllm, VllmServer), "sglang": (FakeSglang, SglangServer)}


@pytest.fixture(params=sorted(DIALECTS))
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    return tmp_path / "artifacts"


@pytest.fixture
def fake(kind: str, artifacts: Path) -> Iterator[FakeEngine]:
    with DIALECTS[kind][0](BASE, mounts={"/mnt/ftgate": artifacts}) as running:
        yield running


@pytest.fixture
async def engines() -> AsyncIterator[list[AdapterServer]]:
    """The engines a test made, closed after it."""
    made: list[AdapterServer] = []
    yield made
    for engine in made:
        await engine.close()


@pytest.fixture
def server(kind: str, artifacts: Path, engines: list[AdapterServer]) -> Callable[..., AdapterServer]:
    def make(fake: FakeEngine, **options: object) -> AdapterServer:
        spec = EngineSpec.model_validate(
            {"kind": kind, "base_url": fake.root_url, "api_key": fake.default_key, "attempts": 1, **options}
        )
        engines.append(DIALECTS[kind][1](BASE, spec, artifacts))
        return engines[-1]

    return make


def adapter(artifacts: Path, job: str, rank: int = 8, **config: object) -> Path:
    folder = artifacts / job / "model"
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"r": rank, "peft_type": "LORA", **config}))
    (folder / "adapter_model.safetensors").write_bytes(b"weights of " + job.encode())
    return folder


def name_of(folder: Path, artifacts: Path, root: str | None = None) -> str:
    return served_adapter(folder, artifacts, PurePosixPath(root) if root else None).name


async def chat(engine: AdapterServer, folder: Path | None, **body: object) -> dict:
    reply = await engine.chat(
        HELLO | body, adapter=folder, model="ft:tiny-chat:org::abc", fingerprint="fp_test"
    )
    content = b"".join([piece async for piece in reply.body])
    return json.loads(content)


async def test_a_base_model_chat_loads_nothing_and_is_answered_as_ftgates(server, kind, fake):
    engine = server(fake)
    answer = await chat(engine, None)
    assert fake.bodies[0]["model"] == BASE and fake.loads == []
    assert answer["model"] == "ft:tiny-chat:org::abc" and answer["system_fingerprint"] == "fp_test"
    assert answer["choices"][0]["message"]["content"] == f"{BASE}: hello there"
    assert answer["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5} | (
        {"reasoning_tokens": 0} if kind == "sglang" else {}
    )
    engine_fields = {"prompt_logprobs", "prompt_token_ids", "kv_transfer_params", "service_tier"}
    assert not engine_fields & answer.keys()
    assert not {"stop_reason", "matched_stop"} & answer["choices"][0].keys()
    assert "reasoning_content" not in answer["choices"][0]["message"]


async def test_an_adapter_is_loaded_on_its_first_chat_only(server, kind, fake, artifacts):
    engine = server(fake, adapter_root="/mnt/ftgate")
    folder = adapter(artifacts, "ftjob-a")
    name = name_of(folder, artifacts, "/mnt/ftgate")
    await chat(engine, folder)
    await chat(engine, folder)
    assert fake.loads == [name]
    assert fake.adapters == {name: "/mnt/ftgate/ftjob-a/model"}
    served = name if kind == "vllm" else f"{BASE}:{name}"
    assert [body["model"] for body in fake.bodies] == [served, served]
    assert fake.requests_to("GET", "/v1/models") == 1, "the second chat trusts what the first saw"


async def test_at_max_loras_the_least_recently_used_adapter_is_unloaded(server, fake, artifacts):
    engine = server(fake, max_loras=2)
    a, b, c = (adapter(artifacts, job) for job in ("ftjob-a", "ftjob-b", "ftjob-c"))
    for folder in (a, b, a, c):
        await chat(engine, folder)
    assert fake.unloads == [name_of(b, artifacts)]
    assert set(fake.adapters) == {name_of(a, artifacts), name_of(c, artifacts)}


async def test_eviction_goes_by_the_servers_list_not_the_replicas_memory(server, fake, artifacts):
    engine = server(fake, max_loras=2)
    a, b, c = (adapter(artifacts, job) for job in ("ftjob-a", "ftjob-b", "ftjob-c"))
    await chat(engine, a)
    await chat(engine, b)
    fake.unload(name_of(a, artifacts))  # another replica made room already
    await chat(engine, c)
    assert fake.unloads == []
    assert set(fake.adapters) == {name_of(b, artifacts), name_of(c, artifacts)}


async def test_an_adapter_another_replica_unloaded_is_loaded_again_and_the_chat_sent_again(
    server, kind, fake, artifacts
):
    engine = server(fake)
    folder = adapter(artifacts, "ftjob-a")
    await chat(engine, folder)
    fake.unload(name_of(folder, artifacts))
    answer = await chat(engine, folder)
    assert answer["choices"][0]["message"]["content"].endswith("hello there")
    assert fake.loads == [name_of(folder, artifacts)] * 2
    assert [request["status"] for request in fake.requests if request["path"] == "/v1/chat/completions"] == [
        200,
        404 if kind == "vllm" else 400,
        200,
    ]


async def test_an_adapter_another_replica_just_loaded_is_taken_as_loaded(server, fake, artifacts):
    engine = server(fake)
    folder = adapter(artifacts, "ftjob-a")
    name = name_of(folder, artifacts)
    fake.preload(name, str(folder))
    fake.stale_listings(1)  # this replica looked just before the other one loaded it
    answer = await chat(engine, folder)
    assert answer["choices"][0]["message"]["content"].endswith("hello there")
    assert fake.loads == [name], "the load was refused as a duplicate, and that is success"


async def test_replicas_share_the_servers_list_and_each_evicts_by_its_own_use(server, fake, artifacts):
    first, second = server(fake, max_loras=2), server(fake, max_loras=2)
    a, b, c = (adapter(artifacts, job) for job in ("ftjob-a", "ftjob-b", "ftjob-c"))
    await chat(first, a)
    await chat(first, b)
    await chat(first, a)
    await chat(second, c)  # uses neither a nor b: unloads one of them to make room
    evicted = fake.unloads[0]
    assert evicted in {name_of(a, artifacts), name_of(b, artifacts)} and len(fake.adapters) == 2
    lost = a if evicted == name_of(a, artifacts) else b
    await chat(first, lost)  # refused, loaded again in place of c, which the first never used
    assert fake.unloads[1:] == [name_of(c, artifacts)]
    assert set(fake.adapters) == {name_of(a, artifacts), name_of(b, artifacts)}


async def test_a_replaced_adapter_is_a_new_version_and_the_old_one_is_unloaded(server, fake, artifacts):
    engine = server(fake)
    folder = adapter(artifacts, "ftjob-a")
    old = name_of(folder, artifacts)
    await chat(engine, folder)
    (folder / "adapter_model.safetensors").write_bytes(b"the weights brought home again")
    new = name_of(folder, artifacts)
    assert new != old and new.rpartition("-")[0] == old.rpartition("-")[0]
    await chat(engine, folder)
    assert fake.loads == [old, new] and fake.unloads == [old]
    assert list(fake.adapters) == [new]


@pytest.mark.parametrize(
    ("config", "why"),
    [
        ({"rank": 32}, "its LoRA rank 32 is above the server's --max-lora-rank 16"),
        ({"rank_pattern": {"q_proj": 64}}, "its LoRA rank 64 is above the server's --max-lora-rank 16"),
        ({"modules_to_save": ["lm_head"]}, "modules_to_save: ['lm_head']"),
    ],
)
async def test_an_adapter_the_server_cannot_load_is_refused_before_loading(
    server, fake, artifacts, config, why
):
    engine = server(fake)
    folder = adapter(artifacts, "ftjob-a", **config)
    with pytest.raises(InvalidRequest) as refused:
        await chat(engine, folder)
    assert refused.value.code == "model_not_servable" and refused.value.param == "model"
    assert why in refused.value.message and "ft:tiny-chat:org::abc" in refused.value.message
    assert fake.loads == []


async def test_the_servers_own_refusal_of_an_adapter_is_the_callers_400(server, kind, fake, artifacts):
    engine = server(fake, max_lora_rank=64)  # ftgate thinks 64, the server takes 16
    folder = adapter(artifacts, "ftjob-a", rank=32)
    with pytest.raises(InvalidRequest) as refused:
        await chat(engine, folder)
    assert refused.value.code == "model_not_servable"
    assert "max_lora_rank 16" in refused.value.message


@pytest.mark.parametrize("kind", ["sglang"])
async def test_a_full_sglang_server_gives_up_one_more_adapter(server, artifacts):
    with FakeSglang(BASE, max_loaded=1) as fake:
        engine = server(fake, max_loras=2)
        a, b = adapter(artifacts, "ftjob-a"), adapter(artifacts, "ftjob-b")
        await chat(engine, a)
        await chat(engine, b)
        assert fake.loads == [name_of(a, artifacts), name_of(b, artifacts), name_of(b, artifacts)]
        assert fake.unloads == [name_of(a, artifacts)]
        assert list(fake.adapters) == [name_of(b, artifacts)]


async def test_a_stream_is_reshaped_event_by_event(server, fake):
    engine = server(fake)
    body = HELLO | {"stream": True, "stream_options": {"include_usage": True}}
    reply = await engine.chat(body, adapter=None, model="mine", fingerprint="fp_test")
    assert reply.content_type.startswith("text/event-stream")
    text = b"".join([piece async for piece in reply.body]).decode()
    events = [event.removeprefix("data: ") for event in text.strip().split("\n\n")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert {(chunk["model"], chunk["system_fingerprint"]) for chunk in chunks} == {("mine", "fp_test")}
    assert "".join(
        chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk["choices"]
    ) == (f"{BASE}: hello there")
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 3
    assert all("stop_reason" not in choice for chunk in chunks for choice in chunk["choices"])


@pytest.mark.parametrize(
    "fault",
    [
        {"method": "POST", "path_pattern": "/chat/completions", "action": "status", "status": 500},
        {"method": "POST", "path_pattern": "/chat/completions", "action": "status", "status": 503},
        {"method": "POST", "path_pattern": "/chat/completions", "action": "drop"},
        {"method": "POST", "path_pattern": "/chat/completions", "action": "timeout", "seconds": 2.0},
        {"method": "GET", "path_pattern": "/v1/models", "action": "status", "status": 502},
        {"method": "POST", "path_pattern": "load_lora_adapter", "action": "status", "status": 500},
    ],
)
async def test_a_failing_server_is_a_503_that_says_so(server, fake, artifacts, fault):
    engine = server(fake, timeout_seconds=0.5)
    fake.add_fault(**fault)
    with pytest.raises(ServiceUnavailable) as failed:
        await chat(engine, adapter(artifacts, "ftjob-a"))
    assert failed.value.status_code == 503
    assert failed.value.message == (
        "The server that serves the model `ft:tiny-chat:org::abc` is unavailable. Please try again later."
    )


async def test_a_server_that_is_down_is_a_503(server, kind):
    with DIALECTS[kind][0](BASE) as fake:
        engine = server(fake)
    with pytest.raises(ServiceUnavailable):
        await chat(engine, None)


async def test_retries_ride_out_a_passing_failure(server, fake, artifacts):
    engine = server(fake, attempts=2)
    fake.add_fault("POST", "/chat/completions", "status", status=500)
    answer = await chat(engine, adapter(artifacts, "ftjob-a"))
    assert answer["choices"][0]["finish_reason"] == "stop"


def test_the_adapter_path_is_where_the_server_sees_the_artifacts(tmp_path):
    folder = tmp_path / "artifacts" / "ftjob-a" / "checkpoints" / "step-5"
    os.makedirs(folder)
    served = served_adapter(folder, tmp_path / "artifacts", PurePosixPath("/srv/ftgate"))
    assert served.server_path == "/srv/ftgate/ftjob-a/checkpoints/step-5"
    assert served_adapter(folder, tmp_path / "artifacts", None).server_path == str(folder)
