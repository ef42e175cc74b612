"""Local base models come from the folders under the models directory."""

import json
from pathlib import Path

from gateway.catalog import LOCAL_PROVIDER, BaseModelSpec, build_catalog, discover_local_models


def model_folder(root: Path, name: str, config: str, sidecar: dict | None = None) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "config.json").write_text(config)
    if sidecar is not None:
        (folder / "ftgate.json").write_text(json.dumps(sidecar))
    return folder


def test_each_model_folder_is_a_local_model_and_its_sidecar_overrides_fields(tmp_path: Path):
    model_folder(tmp_path, "qwen", json.dumps({"max_position_embeddings": 32768}))
    model_folder(
        tmp_path,
        "tiny",
        "{}",
        {"learning_rate": 0.003, "aliases": ["small"], "devices_per_job": 2, "sharding": "fsdp"},
    )
    (tmp_path / "notes").mkdir()  # no config.json: not a model
    qwen, tiny = discover_local_models(tmp_path)
    assert (qwen.id, qwen.provider, qwen.token_limit, qwen.path) == (
        "qwen",
        LOCAL_PROVIDER,
        32768,
        (tmp_path / "qwen").resolve(),
    )
    assert qwen.learning_rate_multiplier == 1.0 and qwen.learning_rate == 2e-4
    assert (qwen.devices_per_job, qwen.sharding) == (1, "ddp")
    assert (tiny.learning_rate, tiny.aliases) == (0.003, ["small"])
    assert (tiny.devices_per_job, tiny.sharding) == (2, "fsdp")


def test_a_broken_folder_is_skipped_not_fatal(tmp_path: Path, caplog):
    model_folder(tmp_path, "broken", "{not json")
    model_folder(tmp_path, "bad-sidecar", "{}", {"learning_rate": -1})
    model_folder(tmp_path, "no-devices", "{}", {"devices_per_job": 0})
    model_folder(tmp_path, "odd-sharding", "{}", {"devices_per_job": 2, "sharding": "zero3"})
    model_folder(tmp_path, "sharded-alone", "{}", {"sharding": "fsdp"})
    model_folder(tmp_path, "good", "{}")
    assert [spec.id for spec in discover_local_models(tmp_path)] == ["good"]
    names = ("broken", "bad-sidecar", "no-devices", "odd-sharding", "sharded-alone")
    assert all(name in caplog.text for name in names)
    assert "Input should be 'ddp' or 'fsdp'" in caplog.text
    assert "set devices_per_job to 2 or more" in caplog.text


def test_configured_models_win_over_folders_of_the_same_name(tmp_path: Path):
    model_folder(tmp_path, "gpt-4o-mini-2024-07-18", "{}")
    model_folder(tmp_path, "mine", "{}")
    configured = [
        BaseModelSpec(id="gpt-4o-mini-2024-07-18"),
        BaseModelSpec(id="own", provider="local", path="mine"),
    ]
    catalog = build_catalog(configured, tmp_path)
    assert [spec.id for spec in catalog] == ["gpt-4o-mini-2024-07-18", "own", "mine"]
    assert catalog[0].provider == "openai" and catalog[1].path == (tmp_path / "mine").resolve()


def test_only_a_local_model_with_its_folder_runs_here(tmp_path: Path):
    assert BaseModelSpec(id="own", provider=LOCAL_PROVIDER, path=tmp_path).runs_here
    assert not BaseModelSpec(id="own", provider=LOCAL_PROVIDER).runs_here
    assert not BaseModelSpec(id="gpt-4o-mini-2024-07-18").runs_here
    assert not BaseModelSpec(id="theirs", provider="together", path=tmp_path).runs_here
