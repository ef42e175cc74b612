"""The operator's CLI: `ftgate projects|keys|limits|usage|audit|aliases ...`, on the database directly,
through the same service functions as the admin API (the audit log's actor is `cli`)."""

import argparse
import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.admin import alias_commands, service
from gateway.admin.schemas import AdminApiKey, AdminAuditEntry, AdminProject
from gateway.budgets import usage
from gateway.budgets.limits import Limits
from gateway.commands import CLI_ACTOR, as_json, project_id_of, run_command


def _limits(args: argparse.Namespace) -> Limits:
    given = {
        "period": args.period,
        "spend_usd": args.spend_usd,
        "trained_tokens": args.trained_tokens,
        "concurrent_jobs": args.concurrent_jobs,
        "stored_bytes": args.stored_bytes,
        "files": args.files,
        "models": args.models.split(",") if args.models else None,
        "requests_per_minute": args.rpm,
        "chat_tokens_per_minute": args.tpm,
    }
    return Limits.model_validate({name: value for name, value in given.items() if value is not None})


async def create_project(session: AsyncSession, args: argparse.Namespace) -> str:
    return as_json(
        await AdminProject.of(
            session, await service.create_project(session, CLI_ACTOR, args.name, _limits(args))
        )
    )


async def list_projects(session: AsyncSession, _: argparse.Namespace) -> str:
    return as_json(
        [
            (await AdminProject.of(session, project)).model_dump()
            for project in await service.list_projects(session)
        ]
    )


async def list_keys(session: AsyncSession, args: argparse.Namespace) -> str:
    keys = await service.list_keys(session, await project_id_of(session, args.project))
    return as_json([(await AdminApiKey.of(session, key)).model_dump() for key in keys])


async def revoke_key(session: AsyncSession, args: argparse.Namespace) -> str:
    return as_json(await AdminApiKey.of(session, await service.revoke_key(session, CLI_ACTOR, args.key_id)))


async def set_limits(session: AsyncSession, args: argparse.Namespace) -> str:
    limits = _limits(args)
    if args.key is not None:
        return as_json(
            await AdminApiKey.of(session, await service.set_key_limits(session, CLI_ACTOR, args.key, limits))
        )
    project_id = await project_id_of(session, args.project)
    return as_json(
        await AdminProject.of(
            session, await service.set_project_limits(session, CLI_ACTOR, project_id, limits)
        )
    )


async def usage_report(session: AsyncSession, args: argparse.Namespace) -> str:
    project_id = await project_id_of(session, args.project) if args.project else None
    rows = await usage.report(
        session,
        usage.parse_groups(args.group_by),
        project_id=project_id,
        start=args.since,
        end=args.until,
    )
    if args.format == "csv":
        return usage.as_csv(rows).rstrip("\n")
    return as_json([row.model_dump() for row in rows])


async def audit_log(session: AsyncSession, args: argparse.Namespace) -> str:
    project_id = await project_id_of(session, args.project) if args.project else None
    where = service.AuditFilter(project_id, args.actor, args.action, args.since, args.until)
    entries, _ = await service.audit_log(session, where, args.after, args.limit)
    return as_json([AdminAuditEntry.of(entry).model_dump() for entry in entries])


def _unix_time(text: str) -> int:
    """`YYYY-MM-DD` (its first second) or an ISO 8601 time, UTC unless it names its offset."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not YYYY-MM-DD or an ISO 8601 time") from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp())


def _add_limit_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--period", choices=["day", "month"])
    command.add_argument("--spend-usd", type=float, help="training and chat cost per period")
    command.add_argument("--trained-tokens", type=int, help="trained tokens per period")
    command.add_argument("--concurrent-jobs", type=int)
    command.add_argument("--stored-bytes", type=int)
    command.add_argument("--files", type=int, help="files kept")
    command.add_argument("--models", help="allowed base models, comma-separated")
    command.add_argument("--rpm", type=int, help="requests per minute, per key")
    command.add_argument("--tpm", type=int, help="chat tokens per minute, per key")


def add_commands(commands: Any, keys: Any) -> None:
    """Add the operator's commands to the `ftgate` parser (`keys` is the `keys` sub-parser set)."""
    alias_commands.add_commands(commands)
    projects = commands.add_parser("projects", help="manage projects").add_subparsers(
        required=True, metavar="ACTION"
    )
    create = projects.add_parser("create", help="create a project, with limits if given")
    create.add_argument("name")
    _add_limit_options(create)
    create.set_defaults(handler=run_command(create_project))
    projects.add_parser("list", help="list projects").set_defaults(handler=run_command(list_projects))

    list_cmd = keys.add_parser("list", help="list a project's keys (never their secrets)")
    list_cmd.add_argument("--project", required=True, help="name or id")
    list_cmd.set_defaults(handler=run_command(list_keys))
    revoke = keys.add_parser("revoke", help="revoke a key: refused from its next request on")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=run_command(revoke_key))

    limits = commands.add_parser("limits", help="set a project's or a key's budgets and limits")
    limits_actions = limits.add_subparsers(required=True, metavar="ACTION")
    set_cmd = limits_actions.add_parser("set", help="replace the limits with those given (none: no limits)")
    target = set_cmd.add_mutually_exclusive_group(required=True)
    target.add_argument("--project", help="name or id")
    target.add_argument("--key", help="key id")
    _add_limit_options(set_cmd)
    set_cmd.set_defaults(handler=run_command(set_limits))

    usage_cmd = commands.add_parser("usage", help="usage and cost per project, key, model and day")
    usage_cmd.add_argument("--project", help="name or id; all projects when left out")
    usage_cmd.add_argument("--group-by", default="project,key,model,day")
    usage_cmd.add_argument("--since", type=_unix_time, help="first day (YYYY-MM-DD, UTC)")
    usage_cmd.add_argument("--until", type=_unix_time, help="day after the last (YYYY-MM-DD, UTC)")
    usage_cmd.add_argument("--format", choices=["json", "csv"], default="json")
    usage_cmd.set_defaults(handler=run_command(usage_report))

    audit = commands.add_parser("audit", help="the audit log, newest first")
    audit.add_argument("--project", help="name or id")
    audit.add_argument("--actor", help="admin, system, cli or a key id")
    audit.add_argument("--action", help="e.g. key.created")
    audit.add_argument(
        "--since", type=_unix_time, help="entries from this time on (YYYY-MM-DD or ISO 8601, UTC)"
    )
    audit.add_argument(
        "--until", type=_unix_time, help="entries before this time (YYYY-MM-DD or ISO 8601, UTC)"
    )
    audit.add_argument("--after", metavar="ENTRY_ID", help="the page after this entry")
    audit.add_argument("--limit", type=int, default=100)
    audit.set_defaults(handler=run_command(audit_log))
