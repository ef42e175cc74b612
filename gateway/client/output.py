"""What the commands print: rich tables on a terminal; tab-separated lines or JSON when piped."""

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def fail(message: str) -> None:
    errors.print(f"ftgate: {message}", markup=False, soft_wrap=True)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


def timestamp(seconds: int | None) -> str:
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S") if seconds else ""


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def show_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    """A table on a terminal; otherwise one tab-separated line per row, without the header."""
    if not console.is_terminal:
        for row in rows:
            sys.stdout.write("\t".join(text(cell) for cell in row) + "\n")
        return
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(text(cell)) for cell in row))
    console.print(table)


def show_fields(fields: Sequence[tuple[str, Any]], title: str | None = None) -> None:
    """Name and value per line: a two-column table on a terminal, `name<TAB>value` when piped."""
    if not console.is_terminal:
        for name, value in fields:
            sys.stdout.write(f"{name}\t{text(value)}\n")
        return
    table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in fields:
        table.add_row(name, Text(text(value)))
    console.print(table)
