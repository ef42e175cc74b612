"""`ftgate aliases set|list|get|delete`: a project's model aliases, through the same service
functions as the admin API (the audit log's actor is `cli`)."""

import argparse
import time
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.aliases import service
from gateway.aliases.schemas import AdminModelAlias, AdminModelAliasDeleted, UnixSeconds
from gateway.commands import CLI_ACTOR, as_json, project_id_of, run_with_runtime

if TYPE_CHECKING:
    from gateway.runtime import Runtime

ACTIVE_FROM = TypeAdapter(UnixSeconds)


def _active_from(given: str | None) -> int | None:
    if given is None:
        return None
    try:
        return ACTIVE_FROM.validate_python(given)
    except ValidationError as error:
        raise SystemExit(f"ftgate: --active-from: {error.errors()[0]['msg']}") from None


async def set_alias(runtime: "Runtime", session: AsyncSession, args: argparse.Namespace) -> str:
    alias = await service.put(
        session,
        runtime,
        CLI_ACTOR,
        await project_id_of(session, args.project),
        args.alias,
        args.replacement,
        _active_from(args.active_from),
    )
    return as_json(AdminModelAlias.of(alias, int(time.time())))


async def list_aliases(_: "Runtime", session: AsyncSession, args: argparse.Namespace) -> str:
    aliases = await service.list_aliases(session, await project_id_of(session, args.project))
    now = int(time.time())
    return as_json([AdminModelAlias.of(alias, now).model_dump() for alias in aliases])


async def get_alias(_: "Runtime", session: AsyncSession, args: argparse.Namespace) -> str:
    alias = await service.get(session, await project_id_of(session, args.project), args.alias)
    return as_json(AdminModelAlias.of(alias, int(time.time())))


async def delete_alias(_: "Runtime", session: AsyncSession, args: argparse.Namespace) -> str:
    await service.delete(session, CLI_ACTOR, await project_id_of(session, args.project), args.alias)
    return as_json(AdminModelAliasDeleted(id=args.alias, deleted=True))


def add_commands(commands: Any) -> None:
    aliases = commands.add_parser(
        "aliases", help="a project's model aliases: an old model id answered by a replacement"
    ).add_subparsers(required=True, metavar="ACTION")

    def action(name: str, help_text: str, command: Any, *, named: bool = True) -> argparse.ArgumentParser:
        parser = aliases.add_parser(name, help=help_text)
        parser.add_argument("--project", required=True, help="name or id")
        if named:
            parser.add_argument("alias", help="the old model id clients send")
        parser.set_defaults(handler=run_with_runtime(command))
        return parser

    set_cmd = action("set", "create an alias, or change its replacement or cutover time", set_alias)
    set_cmd.add_argument("replacement", help="a model the project can chat with")
    set_cmd.add_argument(
        "--active-from",
        help="the cutover: Unix seconds or ISO-8601 (2027-01-14T00:00Z); at once when left out",
    )
    action("list", "a project's aliases", list_aliases, named=False)
    action("get", "show one alias", get_alias)
    action("delete", "remove an alias: the old id goes where it went before", delete_alias)
