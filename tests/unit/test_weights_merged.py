import os
import time
from pathlib import Path

from gateway.weights.merged import ABANDONED_BUILD_SECONDS, IN_USE_SECONDS, MergedWeights, content_key


def make(folder: Path, files: dict[str, bytes], age: float = 0.0) -> Path:
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    when = time.time() - age
    os.utime(folder, (when, when))
    return folder


def test_the_key_follows_the_adapters_content_and_the_base_models_files(tmp_path: Path):
    base = make(tmp_path / "base", {"config.json": b"{}", "model.safetensors": b"base"})
    adapter = make(tmp_path / "adapter", {"adapter_config.json": b"{}", "adapter_model.safetensors": b"a"})
    key = content_key(base, adapter)
    same = make(tmp_path / "copy", {"adapter_config.json": b"{}", "adapter_model.safetensors": b"a"})
    assert content_key(base, same) == key, "a copy of the adapter elsewhere is the same merge"
    (adapter / "adapter_model.safetensors").write_bytes(b"b")
    assert content_key(base, adapter) != key
    changed = content_key(base, adapter)
    (base / "model.safetensors").write_bytes(b"other base")
    assert content_key(base, adapter) != changed


def test_eviction_keeps_the_most_recently_used_merges(tmp_path: Path):
    root = tmp_path / "merged"
    old = IN_USE_SECONDS * 10
    newest = make(root / "newest", {"model.safetensors": b"n"})
    recent = make(root / "recent", {"model.safetensors": b"r"}, age=old)
    make(root / "oldest", {"model.safetensors": b"o"}, age=old * 2)
    MergedWeights(root, kept=2).evict(keep=newest)
    assert sorted(path.name for path in root.iterdir()) == sorted([newest.name, recent.name])


def test_eviction_spares_merges_just_used_and_builds_under_way_but_not_abandoned_builds(tmp_path: Path):
    root = tmp_path / "merged"
    old = IN_USE_SECONDS * 10
    newest = make(root / "newest", {"model.safetensors": b"n"})
    make(root / "old", {"model.safetensors": b"r"}, age=old)
    in_use = make(root / "in-use", {"model.safetensors": b"u"}, age=IN_USE_SECONDS / 2)
    building = make(root / ".building-x-1", {"model.safetensors": b"b"}, age=old)
    make(root / ".building-y-2", {}, age=ABANDONED_BUILD_SECONDS + 60)
    MergedWeights(root, kept=1).evict(keep=newest)
    assert sorted(path.name for path in root.iterdir()) == sorted([newest.name, in_use.name, building.name])
