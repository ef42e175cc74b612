"""`ftgate models bring-home`: the admin API's call, run by the CLI (the audit log's actor is `cli`)."""

import argparse
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.commands import CLI_ACTOR, as_json, project_id_of, run_with_runtime
from gateway.home.service import bring_home

if TYPE_CHECKING:
    from gateway.runtime import Runtime


async def bring_model_home(runtime: "Runtime", session: AsyncSession, args: argparse.Namespace) -> str:
    project_id = await project_id_of(session, args.project)
    await session.commit()  # the download holds no transaction open
    return as_json(await bring_home(runtime, CLI_ACTOR, project_id, args.model))


def add_command(models_actions: Any) -> None:
    command = models_actions.add_parser(
        "bring-home",
        help="download a fine-tuned model's adapter from the upstream that trained it (Together) "
        "and serve the model here",
    )
    command.add_argument("--project", required=True, help="name or id")
    command.add_argument("model", help="the fine-tuned model")
    command.set_defaults(handler=run_with_runtime(bring_model_home))
