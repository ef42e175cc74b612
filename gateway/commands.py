"""What every `ftgate` operator command shares: the migrated database's settings, one
transaction per command with its answer printed, a project named by name or id, JSON output.
The audit log's actor for all of them is `cli`."""

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import GatewayError
from gateway.models import Project
from gateway.settings import Settings, get_settings

if TYPE_CHECKING:
    from gateway.runtime import Runtime

CLI_ACTOR = "cli"
Command = Callable[[AsyncSession, argparse.Namespace], Awaitable[Any]]
RuntimeCommand = Callable[["Runtime", AsyncSession, argparse.Namespace], Awaitable[Any]]


def migrate_database(settings: Settings) -> None:
    """Exits with one line, not a traceback, when the database cannot be reached."""
    # Alembic is imported here: `ftgate serve` migrates in a child process so that the server
    # never holds Alembic's imports in memory.
    from sqlalchemy.exc import DBAPIError

    from gateway import migrations

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        migrations.upgrade(settings.database_url)
    except (DBAPIError, OSError) as error:
        reason = str(error.orig if isinstance(error, DBAPIError) else error).strip().splitlines()[-1]
        where = settings.database_url.split("@")[-1]
        raise SystemExit(f"ftgate: cannot use the database {where}: {reason}") from None


def migrated_settings() -> Settings:
    settings = get_settings()
    migrate_database(settings)
    return settings


def run_command(command: Command) -> Callable[[argparse.Namespace], None]:
    """A command that needs only its transaction (see `run_with_runtime`)."""
    return run_with_runtime(lambda _, session, args: command(session, args))


def run_with_runtime(command: RuntimeCommand) -> Callable[[argparse.Namespace], None]:
    """A command's handler: `command` in one transaction on the migrated database, its answer
    printed; a refusal is printed as `ftgate: ...` with exit status 1."""

    def handler(args: argparse.Namespace) -> None:
        from gateway.runtime import build_runtime

        settings = migrated_settings()

        async def main() -> Any:
            runtime = build_runtime(settings, lambda *_: None)
            try:
                async with runtime.transaction() as session:
                    return await command(runtime, session, args)
            finally:
                await runtime.close()

        try:
            print(asyncio.run(main()))
        except GatewayError as error:
            raise SystemExit(f"ftgate: {error.message}") from None

    return handler


async def project_id_of(session: AsyncSession, name_or_id: str) -> str:
    found = await session.scalar(
        select(Project.id).where(or_(Project.id == name_or_id, Project.name == name_or_id))
    )
    if found is None:
        raise SystemExit(f"ftgate: no project named {name_or_id!r}")
    return found


def as_json(value: Any) -> str:
    return json.dumps(value.model_dump() if hasattr(value, "model_dump") else value, indent=2)
