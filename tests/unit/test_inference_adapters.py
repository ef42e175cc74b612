"""The adapter LRU of one base model: load before evicting, evict least recently used."""

from pathlib import Path

import pytest

from gateway.inference.adapters import AdapterSlots, adapter_name


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.held: set[str] = set()

    def load(self, name: str, folder: Path) -> None:
        self.calls.append(("load", folder.name))
        self.held.add(name)

    def unload(self, name: str) -> None:
        self.calls.append(("unload", next(n for n in "abcd" if adapter_name(Path(n)) == name)))
        self.held.remove(name)


def test_least_recently_used_adapter_is_evicted_after_the_new_one_loads():
    recorder = Recorder()
    slots = AdapterSlots(2, recorder.load, recorder.unload)
    a, b, c = Path("a"), Path("b"), Path("c")
    assert slots.activate(a) == adapter_name(a)
    slots.activate(b)
    slots.activate(a)  # a is now the most recently used
    slots.activate(c)  # so b goes
    assert recorder.calls == [("load", "a"), ("load", "b"), ("load", "c"), ("unload", "b")]
    assert slots.loaded == [a, c] and len(recorder.held) == 2
    slots.activate(b)
    assert recorder.calls[-2:] == [("load", "b"), ("unload", "a")]
    assert slots.loaded == [c, b]


def test_a_failed_load_leaves_the_cache_as_it_was():
    recorder = Recorder()

    def failing(name: str, folder: Path) -> None:
        raise OSError("no adapter_config.json")

    slots = AdapterSlots(1, recorder.load, recorder.unload)
    slots.activate(Path("a"))
    slots._load = failing
    with pytest.raises(OSError):
        slots.activate(Path("b"))
    assert slots.loaded == [Path("a")] and recorder.calls == [("load", "a")]


def test_names_are_stable_and_peft_safe():
    name = adapter_name(Path("/data/artifacts/ftjob-x/checkpoints/step-10"))
    assert name == adapter_name(Path("/data/artifacts/ftjob-x/checkpoints/step-10"))
    assert "." not in name and name != adapter_name(Path("/data/artifacts/ftjob-x/model"))


def test_capacity_must_hold_one():
    with pytest.raises(ValueError):
        AdapterSlots(0, lambda *_: None, lambda _: None)


def test_adapters_in_use_are_never_evicted_and_a_full_house_of_them_loads_nothing():
    recorder = Recorder()
    slots = AdapterSlots(2, recorder.load, recorder.unload)
    a, b, c = Path("a"), Path("b"), Path("c")
    slots.activate(a)
    slots.activate(b)
    assert slots.activate(c, in_use={adapter_name(a), adapter_name(b)}) is None
    assert slots.loaded == [a, b] and recorder.calls == [("load", "a"), ("load", "b")]
    assert slots.activate(a, in_use={adapter_name(a), adapter_name(b)}) == adapter_name(a)  # loaded already
    slots.activate(c, in_use={adapter_name(b)})  # a is the least recently used, but b is in use
    assert recorder.calls[-2:] == [("load", "c"), ("unload", "a")]
    assert slots.loaded == [b, c]
