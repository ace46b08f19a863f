"""Shared output for every CLI command: JSON for scripts, Rich tables for people, clear errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from voxpop.client import format_vox

console = Console()
err_console = Console(stderr=True)


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


OutputOption = typer.Option(
    OutputFormat.TEXT,
    "--output",
    "-o",
    help="text for people, json for scripts",
    case_sensitive=False,
)


def to_jsonable(value: Any) -> Any:
    """bytes become lowercase hex; dataclasses and mappings become dicts."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def emit(data: Any, fmt: OutputFormat, render: Callable[[Any], None] | None = None) -> None:
    """Print `data` as JSON, or hand it to `render` (default: a key/value table)."""
    if fmt == OutputFormat.JSON:
        sys.stdout.write(json.dumps(to_jsonable(data), indent=2, sort_keys=True) + "\n")
        return
    if render is not None:
        render(data)
        return
    kv_table(to_jsonable(data))


def format_uvox(uvox: int) -> str:
    return f"{uvox} uvox ({format_vox(uvox)})"


def kv_table(data: Mapping[str, Any], title: str | None = None) -> None:
    table = Table(show_header=False, title=title)
    table.add_column(style="bold cyan")
    table.add_column(overflow="fold")
    for key, value in data.items():
        table.add_row(str(key), value if isinstance(value, str) else json.dumps(value))
    console.print(table)


def rows_table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], title: str | None = None
) -> None:
    table = Table(title=title)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(str(to_jsonable(row.get(c, ""))) for c in columns))
    console.print(table)


def fail(
    code: str, message: str, fmt: OutputFormat = OutputFormat.TEXT, exit_code: int = 1
) -> NoReturn:
    """Report an error with a stable code and exit non-zero."""
    if fmt == OutputFormat.JSON:
        sys.stdout.write(json.dumps({"error": {"code": code, "message": message}}) + "\n")
    else:
        # One line whatever the width: scripts and logs read errors line by line
        err_console.print(f"[bold red]error[/] \\[{code}] {escape(message)}", soft_wrap=True)
    raise typer.Exit(exit_code)


def parse_funds(items: list[str], fmt: OutputFormat) -> list[tuple[bytes, int]]:
    """`--fund ADDRESS=UVOX` options as (raw address, amount); fails with a clear code."""
    from voxpop.crypto import AddressError, decode_address

    out = []
    for item in items:
        address, _, amount = item.partition("=")
        try:
            raw = decode_address(address)
        except AddressError as exc:
            fail("invalid_address", f"--fund {item!r}: {exc}", fmt)
        if not amount.isdigit() or int(amount) <= 0:
            fail(
                "invalid_amount", f"--fund {item!r}: amount must be a positive integer of uvox", fmt
            )
        out.append((raw, int(amount)))
    return out
