"""`ftgate files upload FILE`: the upload with a progress bar, then the file's validation report
and, with --model, its quote."""

import argparse
from pathlib import Path
from typing import Any

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from gateway.client.http import ClientError, Gateway
from gateway.client.output import errors, print_json, show_fields, show_rows


def upload_file(gateway: Gateway, path: Path, purpose: str) -> dict[str, Any]:
    """Streams the file from disk; the bar (on stderr, when it is a terminal) follows the bytes sent."""
    if not path.is_file():
        raise ClientError(f"{path}: no such file")
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    size = path.stat().st_size
    with (
        Progress(*columns, console=errors, disable=not errors.is_terminal) as progress,
        progress.wrap_file(path.open("rb"), total=size, description=path.name) as reader,
    ):
        return gateway.upload(reader, path.name, purpose)


def upload(gateway: Gateway, args: argparse.Namespace) -> None:
    uploaded = upload_file(gateway, Path(args.file), args.purpose)
    report = gateway.get(f"/files/{uploaded['id']}/validation") if args.purpose == "fine-tune" else None
    quote = (
        gateway.get(f"/files/{uploaded['id']}/quote", model=args.model, n_epochs=args.n_epochs)
        if args.model and report is not None
        else None
    )
    if args.json:
        print_json({"file": uploaded, "validation": report, "quote": quote})
        return
    show_fields(
        [(name, uploaded.get(name)) for name in ("id", "filename", "bytes", "purpose", "status")],
        title="File",
    )
    if report is not None:
        show_report(report)
    if quote is not None:
        show_quote(quote)


def show_report(report: dict[str, Any]) -> None:
    if report["n_invalid"] or not report["format"]:
        verdict = "NOT valid for fine-tuning"
    else:
        verdict = f"valid, with {len(report['warnings'])} warning(s)" if report["warnings"] else "valid"
    show_fields(
        [
            ("verdict", verdict),
            ("format", report["format"]),
            ("lines", report["n_lines"]),
            ("examples", report["n_examples"]),
            ("invalid examples", report["n_invalid"]),
            ("tokens", f"{report['total_tokens']} ({report['encoding']})"),
            ("billable tokens per epoch", report["billable_tokens"]),
            ("longest example", f"{report['max_example_tokens']} tokens (limit {report['token_limit']})"),
            ("over the limit", report["n_over_limit"]),
            ("assistant tokens", report["assistant_tokens"]),
        ],
        title="Validation",
    )
    if report["issues"]:
        issues = [(issue["line"], issue["code"], issue["message"]) for issue in report["issues"]]
        show_rows(("line", "code", "problem"), issues, title="Issues")
    if report["warnings"]:
        show_rows(("warning",), [(warning,) for warning in report["warnings"]], title="Warnings")


def show_quote(quote: dict[str, Any]) -> None:
    fields = [
        ("model", quote["model"]),
        ("epochs", quote["n_epochs"]),
        ("trained tokens", quote["trained_tokens"]),
        ("price per 1M tokens", f"${quote['training_price_per_1m']:.2f}"),
        ("estimated cost", f"${quote['estimated_cost']:.4f}"),
    ]
    if quote.get("upstream_estimated_cost") is not None:
        fields.append(("upstream's estimate", f"${quote['upstream_estimated_cost']:.4f}"))
    if quote.get("upstream_note"):
        fields.append(("note", quote["upstream_note"]))
    show_fields(fields, title="Quote")
