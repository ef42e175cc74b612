"""The `ftgate` command: serve, migrate, quote, build a local model, the operator's commands
(projects, keys, limits, usage, audit, capture, aliases, openai import|replace|compare), and the
client's (files, jobs, chat: gateway/client/)."""

import argparse
import asyncio
import logging
import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.settings import Settings

# Imports stay inside the commands: validator child processes re-import this entry point, and
# should not pay for the web and database stacks they never use.


def serve(args: argparse.Namespace) -> None:
    from gateway.observability import exposition

    exposition.clean_multiprocess_dir()  # before any process of this run writes a metric
    import uvicorn

    from gateway.main import build_app
    from gateway.settings import get_settings

    settings = get_settings()
    if not args.no_migrate:
        # In a child process: the server then never holds Alembic's imports in memory.
        migrated = subprocess.run([sys.executable, "-m", "gateway.cli", "migrate"])
        if migrated.returncode:
            raise SystemExit(migrated.returncode)
    # In JSON, the root logger's handler (see `logs.configure`) formats uvicorn's lines too.
    log_config = None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG
    served = build_app(settings) if args.workers == 1 else "gateway.main:build_app"
    uvicorn.run(
        served,
        factory=args.workers > 1,
        workers=args.workers,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=log_config,
    )


def migrate(_: argparse.Namespace) -> None:
    from gateway.commands import migrated_settings

    settings = migrated_settings()
    print(f"database is at the newest schema: {settings.database_url.split('@')[-1]}")


def create_key(args: argparse.Namespace) -> None:
    from gateway.commands import migrated_settings

    print(asyncio.run(create_project_key(migrated_settings(), args.project, args.name)))


async def create_project_key(settings: "Settings", project_name: str, key_name: str | None = None) -> str:
    """Create the project if it is new, and a key for it; returns the key's secret."""
    from gateway import projects
    from gateway.admin import service
    from gateway.budgets.limits import NO_LIMITS
    from gateway.runtime import build_runtime

    runtime = build_runtime(settings, lambda *_: None)
    try:
        async with runtime.transaction() as session:
            project = await projects.get_or_create_project(session, project_name)
            _, secret = await service.create_key(session, "cli", project.id, key_name, NO_LIMITS)
            return secret
    finally:
        await runtime.close()


def quote(args: argparse.Namespace) -> None:
    from gateway import local_extra
    from gateway.catalog import build_catalog, resolve_base_model
    from gateway.fine_tuning.local_counts import local_count
    from gateway.fine_tuning.quotes import build_quote, method_for
    from gateway.settings import get_settings
    from gateway.validation import TrainingFileValidator

    settings = get_settings()
    assert settings.models_dir is not None
    spec = resolve_base_model(
        build_catalog(list(settings.base_models), settings.models_dir, settings.local_model_prices()),
        args.model,
    )
    if spec is None:
        raise SystemExit(f"ftgate quote: {args.model} is not a configured base model")
    validator = TrainingFileValidator(spec.encoding, token_limit=spec.token_limit)
    with open(args.file, "rb") as content:
        while chunk := content.read(1024 * 1024):
            validator.feed(chunk)
    report = validator.finish()
    local = None
    if spec.runs_here:
        local_extra.require_for_command("ftgate quote")
        with open(args.file, "rb") as content:
            local = local_count(spec, method_for(report), content)
    quoted = build_quote(report, spec.id, spec, args.n_epochs, file_id=None, local=local)
    print(quoted.model_dump_json(indent=2))
    for issue in report.issues:
        print(f"line {issue.line}: {issue.message}", file=sys.stderr)
    if local is not None and local.error is not None:
        print(local.error, file=sys.stderr)


def build_tiny_model(args: argparse.Namespace) -> None:
    from pathlib import Path

    from gateway import local_extra
    from gateway.settings import get_settings
    from training.tiny_model import build_tiny_chat_model, jsonl_strings

    local_extra.require_for_command("ftgate models build-tiny")
    settings = get_settings()
    assert settings.models_dir is not None
    dest = settings.models_dir / args.name
    if (dest / "config.json").exists() and not args.force:
        # Rebuilding would give new random weights, and the adapters tuned on the old ones are garbage.
        print(f"the local chat model {args.name!r} is already in {dest} (--force rebuilds it)")
        return
    corpus = [text for path in args.corpus for text in jsonl_strings(Path(path))]
    build_tiny_chat_model(dest, extra_corpus=corpus)
    print(f"built the local chat model {args.name!r} in {dest}")


def parser() -> argparse.ArgumentParser:
    from gateway.admin.commands import add_commands
    from gateway.capture import commands as capture_commands
    from gateway.client import commands as client_commands
    from gateway.home.commands import add_command as add_bring_home_command
    from gateway.model_imports import add_commands as add_model_import_commands
    from gateway.openai_import.command import add_command as add_openai_command
    from gateway.replacement import commands as replacement_commands
    from gateway.weights.commands import add_command as add_export_command

    root = argparse.ArgumentParser(prog="ftgate", description="OpenAI-compatible fine-tuning gateway")
    commands = root.add_subparsers(required=True, metavar="COMMAND")

    serve_cmd = commands.add_parser("serve", help="serve the API (migrates the database first)")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--log-level", default="info")
    serve_cmd.add_argument(
        "--workers", type=int, default=1, help="server processes (metrics: set PROMETHEUS_MULTIPROC_DIR)"
    )
    serve_cmd.add_argument("--no-migrate", action="store_true", help="skip the schema upgrade")
    serve_cmd.set_defaults(handler=serve)

    migrate_cmd = commands.add_parser("migrate", help="upgrade the database schema")
    migrate_cmd.set_defaults(handler=migrate)

    quote_cmd = commands.add_parser("quote", help="trained tokens and cost of tuning a model on a local file")
    quote_cmd.add_argument("file")
    quote_cmd.add_argument("--model", required=True)
    quote_cmd.add_argument("--n-epochs", type=int, default=None)
    quote_cmd.set_defaults(handler=quote)

    models_cmd = commands.add_parser("models", help="local models, and models brought home").add_subparsers(
        required=True, metavar="ACTION"
    )
    tiny_cmd = models_cmd.add_parser(
        "build-tiny", help="build a small chat model offline into the models folder (for trying ftgate out)"
    )
    tiny_cmd.add_argument("--name", default="tiny-chat")
    tiny_cmd.add_argument(
        "--corpus",
        nargs="*",
        default=[],
        metavar="JSONL",
        help="files whose words the tokenizer should learn",
    )
    tiny_cmd.add_argument("--force", action="store_true", help="rebuild it if it exists")
    tiny_cmd.set_defaults(handler=build_tiny_model)
    add_model_import_commands(models_cmd)
    add_bring_home_command(models_cmd)
    add_export_command(models_cmd)

    keys_cmd = commands.add_parser("keys", help="manage API keys").add_subparsers(
        required=True, metavar="ACTION"
    )
    create_cmd = keys_cmd.add_parser("create", help="create a project's key; prints it last")
    create_cmd.add_argument("--project", required=True, help="its name; a new name makes the project")
    create_cmd.add_argument("--name", default=None, help="a name for the key")
    create_cmd.set_defaults(handler=create_key)
    add_commands(commands, keys_cmd)
    capture_commands.add_commands(commands)
    replacement_commands.add_commands(add_openai_command(commands))
    client_commands.add_commands(commands)
    return root


def main(argv: list[str] | None = None) -> None:
    from gateway.client import commands as client_commands

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in client_commands.NAMES:
        # The client's commands parse without the server's modules, whose imports take seconds.
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        args = client_commands.parser().parse_args(argv)
    else:
        from gateway.observability import logs
        from gateway.settings import get_settings

        logs.configure(get_settings().log_format)
        args = parser().parse_args(argv)
    args.handler(args)


if __name__ == "__main__":
    main()
