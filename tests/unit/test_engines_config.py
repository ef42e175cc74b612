"""A local base model's `engine` (gateway.engines.config) and the engines built from the catalog."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.catalog import BaseModelSpec, discover_local_models
from gateway.engines.config import EngineSpec
from gateway.engines.registry import build_served_engines
from gateway.engines.sglang import SglangServer
from gateway.engines.vllm import VllmServer


def test_a_server_engine_needs_its_url_and_is_addressed_at_its_root():
    with pytest.raises(ValidationError, match="a vllm engine needs the server's base_url"):
        EngineSpec(kind="vllm")
    with pytest.raises(ValidationError):
        EngineSpec.model_validate({"kind": "vllm", "base_url": "http://vllm:8000", "max_lora": 4})
    assert EngineSpec(kind="sglang", base_url="http://sglang:30000/v1/").root_url == "http://sglang:30000"
    assert EngineSpec().kind == "transformers"


def test_a_model_folder_names_its_engine_in_ftgate_json(tmp_path: Path):
    folder = tmp_path / "qwen"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    engine = {"kind": "vllm", "base_url": "http://vllm:8000", "max_loras": 4, "adapter_root": "/srv/a"}
    (folder / "ftgate.json").write_text(json.dumps({"engine": engine}))
    [spec] = discover_local_models(tmp_path)
    assert (spec.engine.kind, spec.engine.max_loras, str(spec.engine.adapter_root)) == ("vllm", 4, "/srv/a")


def test_only_local_models_that_name_a_server_get_one(tmp_path: Path):
    server = {"base_url": "http://engine:8000"}
    catalog = [
        BaseModelSpec(id="a", provider="local", path=tmp_path, engine=EngineSpec(kind="vllm", **server)),
        BaseModelSpec(id="b", provider="local", path=tmp_path, engine=EngineSpec(kind="sglang", **server)),
        BaseModelSpec(id="c", provider="local", path=tmp_path),
        BaseModelSpec(id="d", provider="together", engine=EngineSpec(kind="vllm", **server)),
    ]
    engines = build_served_engines(catalog, tmp_path)
    assert {name: type(engine) for name, engine in engines.items()} == {"a": VllmServer, "b": SglangServer}
