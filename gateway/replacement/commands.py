"""`ftgate openai replace|compare`: the admin API's calls, on the database directly (the audit
log's actor is `cli`). The job and the runs they create start when the server's reconciler next
looks (`FTGATE_RECONCILE_INTERVAL_SECONDS`, 30 s by default)."""

import argparse
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.commands import CLI_ACTOR, as_json, project_id_of, run_with_runtime
from gateway.fine_tuning.schemas import FineTuningJob
from gateway.replacement.compare import compare
from gateway.replacement.replace import replace
from gateway.replacement.schemas import CompareRequest, ReplaceRequest

if TYPE_CHECKING:
    from gateway.runtime import Runtime

DEFAULT_SERVER_URL = "http://127.0.0.1:8000"
Request = TypeVar("Request", bound=BaseModel)


def _request(shape: type[Request], values: dict[str, Any]) -> Request:
    try:
        return shape.model_validate({key: value for key, value in values.items() if value is not None})
    except ValidationError as error:
        first = error.errors()[0]
        raise SystemExit(f"ftgate: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


async def replace_original(runtime: "Runtime", session: AsyncSession, args: argparse.Namespace) -> str:
    overrides = {
        "n_epochs": args.n_epochs,
        "batch_size": args.batch_size,
        "learning_rate_multiplier": args.learning_rate_multiplier,
        "beta": args.beta,
    }
    request = _request(
        ReplaceRequest,
        {
            "original": args.original,
            "model": args.model,
            "training_file": args.training_file,
            "suffix": args.suffix,
            "hyperparameters": {key: value for key, value in overrides.items() if value is not None},
        },
    )
    project_id = await project_id_of(session, args.project)
    return as_json(FineTuningJob.of(await replace(session, runtime, CLI_ACTOR, project_id, request)))


async def compare_with_original(runtime: "Runtime", session: AsyncSession, args: argparse.Namespace) -> str:
    request = _request(
        CompareRequest,
        {
            "original": args.original,
            "replacement": args.replacement,
            "base": args.base,
            "held_out_file": args.held_out_file,
            "graders": args.grader,
            "judge_model": args.judge_model,
            "pass_threshold": args.pass_threshold,
            "max_completion_tokens": args.max_completion_tokens,
        },
    )
    project_id = await project_id_of(session, args.project)
    return as_json(await compare(session, runtime, CLI_ACTOR, project_id, request, args.server_url))


def _number(text: str) -> int | float:
    """`2` stays an int (an epoch count must be one), `0.5` is a float."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def _auto_or_number(text: str) -> str | int | float:
    return text if text == "auto" else _number(text)


def add_commands(openai_actions: Any) -> None:
    replace_cmd = openai_actions.add_parser(
        "replace",
        help="train a local replacement of an imported job or a captured model: same method, "
        "hyperparameters and suffix, on an open base model",
    )
    replace_cmd.add_argument("--project", required=True, help="name or id")
    replace_cmd.add_argument(
        "original", help="ftjob-…, the ft:… model it made, a captured model, or its capture's file"
    )
    replace_cmd.add_argument("--model", required=True, help="the open base model to train")
    replace_cmd.add_argument("--training-file", help="default: the original's file, else the captured one")
    replace_cmd.add_argument("--suffix", help="default: the original's")
    for flag in ("--n-epochs", "--batch-size", "--learning-rate-multiplier", "--beta"):
        replace_cmd.add_argument(flag, type=_auto_or_number, help="default: the original's (or auto)")
    replace_cmd.set_defaults(handler=run_with_runtime(replace_original))

    compare_cmd = openai_actions.add_parser(
        "compare",
        help="an eval over the original's held-out prompts, run on the original, the base model and "
        "the replacement",
    )
    compare_cmd.add_argument("--project", required=True, help="name or id")
    compare_cmd.add_argument("original", help="the original model (or its job)")
    compare_cmd.add_argument("--replacement", help="default: the newest model that replaced the original")
    compare_cmd.add_argument("--base", help="default: the replacement's base model")
    compare_cmd.add_argument("--held-out-file", help="default: the capture's held-out file")
    compare_cmd.add_argument(
        "--grader",
        action="append",
        choices=["fuzzy_match", "judge"],
        help="repeat for both (the default)",
    )
    compare_cmd.add_argument("--judge-model", help="default: the original's base model")
    compare_cmd.add_argument("--pass-threshold", type=float, help="default: 0.7")
    compare_cmd.add_argument("--max-completion-tokens", type=int, help="default: 512")
    compare_cmd.add_argument(
        "--server-url",
        default=DEFAULT_SERVER_URL,
        help=f"where the dashboard is served, for the report links (default: {DEFAULT_SERVER_URL})",
    )
    compare_cmd.set_defaults(handler=run_with_runtime(compare_with_original))
