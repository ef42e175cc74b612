"""Which LoRA adapters one base model holds in memory, least recently used first."""

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Collection
from pathlib import Path


def adapter_name(folder: Path) -> str:
    """A name PEFT accepts (no dots) that is stable for one adapter folder."""
    return "ft_" + hashlib.sha256(str(folder).encode()).hexdigest()[:16]


class AdapterSlots:
    """An LRU of at most `capacity` adapters; `load` and `unload` do the real work.

    A new adapter is loaded before the least recently used one is dropped, so the model never
    goes through a state without adapters (PEFT dislikes deleting its last one). Adapters that
    sequences being decoded still use are never dropped.
    """

    def __init__(
        self, capacity: int, load: Callable[[str, Path], None], unload: Callable[[str], None]
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._load = load
        self._unload = unload
        self._loaded: OrderedDict[str, Path] = OrderedDict()

    def activate(self, folder: Path, in_use: Collection[str] = ()) -> str | None:
        """Load `folder` if needed, mark it most recently used, and return its adapter name;
        None, loading nothing, when every slot holds an adapter in `in_use`."""
        name = adapter_name(folder)
        if name in self._loaded:
            self._loaded.move_to_end(name)
            return name
        evictable = [held for held in self._loaded if held not in in_use]
        if len(self._loaded) >= self.capacity and not evictable:
            return None
        self._load(name, folder)
        self._loaded[name] = folder
        while len(self._loaded) > self.capacity:
            evicted = evictable.pop(0)
            del self._loaded[evicted]
            self._unload(evicted)
        return name

    @property
    def loaded(self) -> list[Path]:
        """Loaded adapter folders, least recently used first."""
        return list(self._loaded.values())
