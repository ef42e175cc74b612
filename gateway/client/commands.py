"""The client commands' parsers: `files`, `jobs` and `chat`, each with --base-url and --api-key
(defaults: OPENAI_BASE_URL and OPENAI_API_KEY, as the openai SDK reads them)."""

import argparse
import os
from collections.abc import Callable

from gateway.client import chat, files, jobs, watch
from gateway.client.http import ClientError, Gateway
from gateway.client.output import fail

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
NAMES = frozenset({"files", "jobs", "chat"})

Command = Callable[[Gateway, argparse.Namespace], None]


def run_with_gateway(command: Command) -> Callable[[argparse.Namespace], None]:
    """The command on a client of the chosen server; a ClientError is one line on stderr and exit 1."""

    def handler(args: argparse.Namespace) -> None:
        try:
            if not args.api_key:
                raise ClientError("no API key: set OPENAI_API_KEY or pass --api-key")
            with Gateway(args.base_url, args.api_key) as gateway:
                command(gateway, args)
        except ClientError as exc:
            fail(str(exc))
            raise SystemExit(1) from None
        except KeyboardInterrupt:
            raise SystemExit(130) from None

    return handler


def connection_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--base-url",
        default=os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL,
        help=f"the server's API root (default: OPENAI_BASE_URL, else {DEFAULT_BASE_URL})",
    )
    options.add_argument(
        "--api-key", default=os.environ.get("OPENAI_API_KEY"), help="a project key (default: OPENAI_API_KEY)"
    )
    return options


def parser() -> argparse.ArgumentParser:
    """The `ftgate` parser with the client's commands alone, which import none of the server's modules."""
    root = argparse.ArgumentParser(prog="ftgate", description="OpenAI-compatible fine-tuning gateway")
    add_commands(root.add_subparsers(required=True, metavar="COMMAND"))
    return root


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    connection = connection_options()
    output = argparse.ArgumentParser(add_help=False, parents=[connection])
    output.add_argument("--json", action="store_true", help="print the server's JSON")

    files_cmd = commands.add_parser("files", help="upload files to an ftgate (client)").add_subparsers(
        required=True, metavar="ACTION"
    )
    upload = files_cmd.add_parser(
        "upload",
        parents=[output],
        help="upload a file; shows its validation report (and quote, with --model)",
    )
    upload.add_argument("file")
    upload.add_argument("--purpose", default="fine-tune")
    upload.add_argument("--model", help="also quote tuning this model on the file")
    upload.add_argument("--n-epochs", type=int, help="epochs for the quote (default: the model's rule)")
    upload.set_defaults(handler=run_with_gateway(files.upload))

    add_job_commands(commands, connection, output)

    chat_cmd = commands.add_parser("chat", parents=[connection], help="chat with a model, streamed (client)")
    chat_cmd.add_argument("model")
    chat_cmd.add_argument("message", nargs="?", help="one message: print the answer and exit")
    chat_cmd.add_argument("--system", help="a system message opening the conversation")
    chat_cmd.add_argument("--temperature", type=float)
    chat_cmd.add_argument("--max-tokens", type=int)
    chat_cmd.set_defaults(handler=run_with_gateway(chat.chat))


def add_job_commands(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    connection: argparse.ArgumentParser,
    output: argparse.ArgumentParser,
) -> None:
    jobs_cmd = commands.add_parser("jobs", help="fine-tuning jobs on an ftgate (client)").add_subparsers(
        required=True, metavar="ACTION"
    )
    create = jobs_cmd.add_parser("create", parents=[output], help="create a fine-tuning job")
    create.add_argument("--model", required=True)
    create.add_argument("--training-file", required=True, help="a file id, or a local file to upload first")
    create.add_argument("--validation-file", help="a file id, or a local file to upload first")
    create.add_argument("--suffix")
    create.add_argument("--seed", type=int)
    create.add_argument("--method", choices=("supervised", "dpo"), default="supervised")
    create.add_argument("--n-epochs", type=int)
    create.add_argument("--batch-size", type=int)
    create.add_argument("--learning-rate-multiplier", type=float)
    create.add_argument("--beta", type=float, help="DPO's beta (--method dpo)")
    create.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE")
    create.set_defaults(handler=run_with_gateway(jobs.create))

    list_cmd = jobs_cmd.add_parser("list", parents=[output], help="the project's jobs, newest first")
    list_cmd.add_argument("--limit", type=int, default=20)
    list_cmd.add_argument("--after", help="the id of the last job of the previous page")
    list_cmd.set_defaults(handler=run_with_gateway(jobs.list_jobs))

    for name, command, description in (
        ("get", jobs.get, "one job"),
        ("cancel", jobs.action("cancel"), "cancel a job"),
        ("pause", jobs.action("pause"), "pause a running job"),
        ("resume", jobs.action("resume"), "resume a paused job"),
    ):
        action = jobs_cmd.add_parser(name, parents=[output], help=description)
        action.add_argument("job")
        action.set_defaults(handler=run_with_gateway(command))

    watch_cmd = jobs_cmd.add_parser(
        "watch",
        parents=[connection],
        help="follow a job to its end; exit code 0 succeeded, 1 failed, 2 cancelled",
    )
    watch_cmd.add_argument("job")
    watch_cmd.add_argument(
        "--interval", type=float, default=1.0, help="seconds between reads of the job (default 1)"
    )
    watch_cmd.set_defaults(handler=run_with_gateway(watch.watch))
