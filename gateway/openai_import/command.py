"""`ftgate openai import`: the import, run on the database directly (audit actor `cli`)."""

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

from gateway.commands import CLI_ACTOR, migrated_settings
from gateway.errors import GatewayError
from gateway.openai_import import service
from gateway.openai_import.client import OpenAIHistory
from gateway.openai_import.report import ImportReport
from gateway.openai_import.source import DEFAULT_UPSTREAM, import_spec
from gateway.providers.base import UpstreamError
from gateway.providers.config import UpstreamSpec
from gateway.settings import Settings


async def run_import(
    settings: Settings, project_name: str, spec: UpstreamSpec, training_files: Path | None
) -> ImportReport:
    from gateway import projects
    from gateway.runtime import build_runtime

    runtime = build_runtime(settings, lambda *_: None)
    history = OpenAIHistory(spec)
    try:
        async with runtime.transaction() as session:
            project = await projects.get_or_create_project(session, project_name)
        return await service.import_history(
            runtime,
            history,
            project.id,
            project.name,
            provider=spec.name,
            training_files=training_files,
            actor=CLI_ACTOR,
        )
    finally:
        await history.close()
        await runtime.close()


def handle(args: argparse.Namespace) -> None:
    settings = migrated_settings()
    training_files = Path(args.training_files) if args.training_files else None
    if training_files is not None and not training_files.is_dir():
        raise SystemExit(f"ftgate: {training_files} is not a folder")
    try:
        # The key OpenAI's own tools read; ftgate's settings stay FTGATE_*.
        api_key = None if args.upstream else os.environ.get("OPENAI_API_KEY")
        spec = import_spec(settings, upstream=args.upstream, api_key=api_key, base_url=args.base_url)
        report = asyncio.run(run_import(settings, args.project, spec, training_files))
    except GatewayError as error:
        raise SystemExit(f"ftgate: {error.message}") from None
    except UpstreamError as error:
        raise SystemExit(f"ftgate: the upstream refused the import: {error.message}") from None
    print("\n".join(report.lines()))


def add_command(commands: Any) -> Any:
    """The `openai` command group, with `import`; returns its actions for the others."""
    openai_cmd = commands.add_parser("openai", help="carry an OpenAI organisation's fine-tunes over")
    actions = openai_cmd.add_subparsers(required=True, metavar="ACTION")
    command = actions.add_parser(
        "import",
        help="copy every fine-tuning job (events, checkpoints, result files, file records) into a "
        "project as read-only history; running it again adds only what is new",
    )
    command.add_argument("--project", required=True, help="its name; a new name makes the project")
    command.add_argument("--base-url", help="an OpenAI-compatible API (default: OpenAI's, or the upstream's)")
    command.add_argument(
        "--upstream",
        help=f"a configured upstream whose key to use (default: OPENAI_API_KEY, else '{DEFAULT_UPSTREAM}'); "
        "chats to the imported models go to it",
    )
    command.add_argument(
        "--training-files",
        metavar="DIR",
        help="a folder of the JSONL files the jobs trained on (OpenAI does not serve them)",
    )
    command.set_defaults(handler=handle)
    return actions
