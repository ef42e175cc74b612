"""An adapter folder as a serving engine knows it: the path the server reads it from, the name
it is loaded under there, and whether the server can load it at all.

The name stands for one version of one folder: `ftgate-<folder>-<version>`, the version drawn
from its files' sizes and modification times. An adapter replaced in its folder (brought home
again) is thus a new name, which every replica of ftgate computes alike; the older version is
unloaded when the new one is loaded. No name is ever reloaded in place, so the server's prefix
cache never serves the old weights' entries under it.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ADAPTER_CONFIG = "adapter_config.json"
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")
NAME_PREFIX = "ftgate-"


@dataclass(frozen=True)
class ServedAdapter:
    folder: Path
    server_path: str
    name: str

    @property
    def family(self) -> str:
        """What every version of this folder's adapter is named with."""
        return family_of(self.name)


def family_of(name: str) -> str:
    return name.rpartition("-")[0]


def served_adapter(folder: Path, adapters_dir: Path, adapter_root: PurePosixPath | None) -> ServedAdapter:
    """Reads the files' metadata: call it in a thread."""
    path = server_path(folder, adapters_dir, adapter_root)
    version = hashlib.sha256()
    for file in (ADAPTER_CONFIG, *WEIGHT_FILES):
        try:
            stat = (folder / file).stat()
        except FileNotFoundError:
            continue
        version.update(f"{file}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    family = NAME_PREFIX + hashlib.sha256(path.encode()).hexdigest()[:12]
    return ServedAdapter(folder, path, f"{family}-{version.hexdigest()[:8]}")


def server_path(folder: Path, adapters_dir: Path, adapter_root: PurePosixPath | None) -> str:
    """Where the server finds `folder`: under `adapter_root` as it is under `adapters_dir`, the
    folder this process reads adapters from (`gateway.storage.choice.adapters_dir`)."""
    if adapter_root is None:
        return str(folder)
    try:
        relative = folder.resolve().relative_to(adapters_dir.resolve())
    except ValueError:
        return str(folder)
    return str(adapter_root / PurePosixPath(relative.as_posix()))


def unservable(folder: Path, max_rank: int) -> str | None:
    """Why a server started with `--max-lora-rank max_rank` cannot load the adapter, if it cannot:
    neither vLLM nor SGLang loads whole modules saved beside the LoRA weights."""
    config = json.loads((folder / ADAPTER_CONFIG).read_text())
    if config.get("modules_to_save"):
        return (
            f"it trains whole modules besides its LoRA weights (modules_to_save: {config['modules_to_save']})"
        )
    rank = max([int(config.get("r") or 0), *map(int, (config.get("rank_pattern") or {}).values())])
    if rank > max_rank:
        return f"its LoRA rank {rank} is above the server's --max-lora-rank {max_rank}"
    return None
