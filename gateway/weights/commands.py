"""`ftgate models export`: a fine-tuned model's weights downloaded from a running ftgate and
streamed to a file. It reaches the server as the OpenAI SDK does: OPENAI_BASE_URL (default
http://127.0.0.1:8000/v1) and a project's key in OPENAI_API_KEY."""

import argparse
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from gateway.weights.service import file_safe

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
CHUNK_BYTES = 1024 * 1024
# A merge runs before the first byte is sent: minutes for a large model.
TIMEOUT = httpx.Timeout(30.0, read=3600.0)


def export_weights(args: argparse.Namespace) -> None:
    # The SDK's own variables, read as the SDK reads them: this command is a client of ftgate.
    base_url = os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
    api_key = os.environ.get("OPENAI_API_KEY")
    if not api_key:
        raise SystemExit("ftgate models export: set OPENAI_API_KEY to a key of the model's project")
    weights_format = "merged" if args.merged else "adapter"
    url = f"{base_url.rstrip('/')}/models/{quote(args.model, safe=':')}/weights"
    headers = {"authorization": f"Bearer {api_key}"}
    try:
        with httpx.stream(
            "GET", url, params={"format": weights_format}, headers=headers, timeout=TIMEOUT
        ) as response:
            if response.status_code != 200:
                raise SystemExit(f"ftgate models export: {response.status_code} {_error(response)}")
            out = _destination(args.out, response, f"{file_safe(args.model)}-{weights_format}.tar")
            _save(response, out)
    except httpx.HTTPError as error:
        raise SystemExit(f"ftgate models export: {url}: {error}") from error
    print(out)


def _error(response: httpx.Response) -> str:
    response.read()
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:500]


def _destination(out: str | None, response: httpx.Response, fallback: str) -> Path:
    """`--out` as given, or the server's file name in `--out` (a folder) or the current folder."""
    named = re.search(r'filename="([^"/\\]+)"', response.headers.get("content-disposition", ""))
    filename = named.group(1) if named else fallback
    if out is None:
        return Path(filename)
    path = Path(out)
    return path / filename if path.is_dir() else path


def _save(response: httpx.Response, out: Path) -> None:
    """Written beside `out` and renamed once whole: a cut download leaves no archive behind."""
    part = out.with_name(out.name + ".part")
    try:
        with part.open("wb") as file:
            for chunk in response.iter_bytes(CHUNK_BYTES):
                file.write(chunk)
        part.replace(out)
    finally:
        part.unlink(missing_ok=True)


def add_command(models_actions: Any) -> None:
    command = models_actions.add_parser(
        "export",
        help="download a fine-tuned model's weights (its LoRA adapter, or merged) from a running ftgate",
    )
    command.add_argument("model", help="the fine-tuned model or checkpoint")
    command.add_argument("--merged", action="store_true", help="the base model with the adapter merged in")
    command.add_argument("--out", default=None, help="the archive's path, or a folder for it")
    command.set_defaults(handler=export_weights)
