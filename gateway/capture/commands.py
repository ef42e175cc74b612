"""`ftgate capture enable|update|disable|status`: the admin API's capture calls, on the database
directly (the audit log's actor is `cli`)."""

import argparse
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.capture import service
from gateway.capture.schemas import AdminCapture, CaptureChanges
from gateway.commands import CLI_ACTOR, as_json, project_id_of, run_command


def _changes(args: argparse.Namespace) -> CaptureChanges:
    return CaptureChanges(
        sample_rate=args.sample_rate,
        held_out_fraction=args.held_out_fraction,
        max_examples=args.max_examples,
        max_bytes=args.max_bytes,
        drop_fields=args.drop_field,
    )


async def enable(session: AsyncSession, args: argparse.Namespace) -> str:
    project_id = await project_id_of(session, args.project)
    return as_json(
        AdminCapture.of(await service.enable(session, CLI_ACTOR, project_id, args.model, _changes(args)))
    )


async def update(session: AsyncSession, args: argparse.Namespace) -> str:
    project_id = await project_id_of(session, args.project)
    return as_json(
        AdminCapture.of(await service.update(session, CLI_ACTOR, project_id, args.model, _changes(args)))
    )


async def disable(session: AsyncSession, args: argparse.Namespace) -> str:
    project_id = await project_id_of(session, args.project)
    return as_json(AdminCapture.of(await service.disable(session, CLI_ACTOR, project_id, args.model)))


async def status(session: AsyncSession, args: argparse.Namespace) -> str:
    project_id = await project_id_of(session, args.project)
    if args.model is not None:
        return as_json(AdminCapture.of(await service.status(session, project_id, args.model)))
    return as_json(
        [AdminCapture.of(capture).model_dump() for capture in await service.of_project(session, project_id)]
    )


def _target(command: argparse.ArgumentParser, *, model_required: bool = True) -> None:
    command.add_argument("--project", required=True, help="name or id")
    command.add_argument("--model", required=model_required, help="the model name clients chat with")


def _settings(command: argparse.ArgumentParser) -> None:
    command.add_argument("--sample-rate", type=float, help="share of chats recorded, 0-1")
    command.add_argument("--held-out-fraction", type=float, help="share of prompts kept aside, 0-1")
    command.add_argument("--max-examples", type=int, help="cap on examples, both files")
    command.add_argument("--max-bytes", type=int, help="cap on bytes, both files")
    command.add_argument(
        "--drop-field",
        action="append",
        metavar="FIELD",
        help="a request field whose presence keeps a chat out (`user`, `metadata.KEY`); repeatable",
    )


def add_commands(commands: Any) -> None:
    actions = commands.add_parser(
        "capture", help="record a project's chats with an upstream model as training data"
    ).add_subparsers(required=True, metavar="ACTION")
    enable_cmd = actions.add_parser("enable", help="turn capture on (settings left out keep their value)")
    _target(enable_cmd)
    _settings(enable_cmd)
    enable_cmd.set_defaults(handler=run_command(enable))
    update_cmd = actions.add_parser("update", help="change the given settings, on or off as it is")
    _target(update_cmd)
    _settings(update_cmd)
    update_cmd.set_defaults(handler=run_command(update))
    disable_cmd = actions.add_parser("disable", help="turn capture off; files and totals stay")
    _target(disable_cmd)
    disable_cmd.set_defaults(handler=run_command(disable))
    status_cmd = actions.add_parser("status", help="settings, examples, bytes and file ids")
    _target(status_cmd, model_required=False)
    status_cmd.set_defaults(handler=run_command(status))
