"""`ftgate jobs create|list|get|cancel|pause|resume`."""

import argparse
from pathlib import Path
from typing import Any

from gateway.client.files import upload_file
from gateway.client.http import ClientError, Gateway
from gateway.client.output import errors, print_json, show_fields, show_rows, timestamp


def create(gateway: Gateway, args: argparse.Namespace) -> None:
    body: dict[str, Any] = {
        "model": args.model,
        "training_file": file_id(gateway, args.training_file),
        "method": {args.method: {"hyperparameters": hyperparameters(args)}, "type": args.method},
    }
    if args.validation_file:
        body["validation_file"] = file_id(gateway, args.validation_file)
    optional = {"suffix": args.suffix, "seed": args.seed, "metadata": metadata(args.metadata)}
    body |= {name: value for name, value in optional.items() if value is not None}
    show_job(gateway.post("/fine_tuning/jobs", body), args.json)


def file_id(gateway: Gateway, name: str) -> str:
    """A local path is uploaded first (purpose fine-tune); anything else is taken for a file id."""
    path = Path(name)
    if not path.is_file():
        return name
    uploaded = upload_file(gateway, path, "fine-tune")
    errors.print(f"uploaded {path} as {uploaded['id']}", markup=False)
    return uploaded["id"]


def hyperparameters(args: argparse.Namespace) -> dict[str, Any]:
    given = {
        "n_epochs": args.n_epochs,
        "batch_size": args.batch_size,
        "learning_rate_multiplier": args.learning_rate_multiplier,
    }
    if args.method == "dpo":
        given["beta"] = args.beta
    elif args.beta is not None:
        raise ClientError("--beta is a hyperparameter of --method dpo")
    return {name: value for name, value in given.items() if value is not None}


def metadata(pairs: list[str]) -> dict[str, str] | None:
    if not pairs:
        return None
    parsed = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ClientError(f"--metadata takes key=value, not {pair!r}")
        parsed[key] = value
    return parsed


def list_jobs(gateway: Gateway, args: argparse.Namespace) -> None:
    page = gateway.get("/fine_tuning/jobs", limit=args.limit, after=args.after)
    if args.json:
        print_json(page)
        return
    rows = [
        (job["id"], job["model"], job["status"], job["fine_tuned_model"], timestamp(job["created_at"]))
        for job in page["data"]
    ]
    show_rows(("id", "model", "status", "fine-tuned model", "created"), rows)
    if page["has_more"] and rows:
        errors.print(f"more with --after {rows[-1][0]}", markup=False)


def get(gateway: Gateway, args: argparse.Namespace) -> None:
    show_job(gateway.get(f"/fine_tuning/jobs/{args.job}"), args.json)


def action(name: str) -> Any:
    def act(gateway: Gateway, args: argparse.Namespace) -> None:
        show_job(gateway.post(f"/fine_tuning/jobs/{args.job}/{name}"), args.json)

    return act


def show_job(job: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(job)
        return
    error = job.get("error")
    show_fields(
        [
            ("id", job["id"]),
            ("status", job["status"]),
            ("model", job["model"]),
            ("fine-tuned model", job["fine_tuned_model"]),
            ("method", job["method"].get("type")),
            ("hyperparameters", job["hyperparameters"]),
            ("training file", job["training_file"]),
            ("validation file", job["validation_file"]),
            ("suffix", job.get("user_provided_suffix")),
            ("seed", job["seed"]),
            ("trained tokens", job["trained_tokens"]),
            ("metadata", job.get("metadata")),
            ("created", timestamp(job["created_at"])),
            ("estimated finish", timestamp(job.get("estimated_finish"))),
            ("finished", timestamp(job["finished_at"])),
            ("error", f"{error['message']} ({error['code']})" if error else None),
        ],
        title="Fine-tuning job",
    )
