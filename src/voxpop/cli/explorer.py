"""`voxpop explorer start|status`: run the block explorer (an indexer following the node into a
database, and its pages), and see how far it has indexed.

    voxpop explorer start --home DIR [--node URL] [--listen 127.0.0.1:7900]
                          [--index postgresql://USER@HOST:PORT/DB]
    voxpop explorer status --home DIR

The index is SQLite in HOME unless --index names a PostgreSQL database. The options are kept in
HOME/explorer.toml: a later `start` with none of them runs the same explorer on the same index.
See docs/explorer.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer

from voxpop.cli.options import NODE_ENV
from voxpop.cli.output import OutputFormat, OutputOption, fail
from voxpop.cli.storage import parse_listen, show_status
from voxpop.explorer.config import (
    CONFIG_FILE,
    ExplorerConfig,
    ExplorerConfigError,
    load_config,
    write_config,
)
from voxpop.storage.config import StorageConfigError

explorer_app = typer.Typer(
    no_args_is_help=True,
    help="Browse the chain: blocks, txs, accounts, validators, proposals, services, supply.",
)

HomeOption: Any = typer.Option(..., "--home", help="the explorer's home (config, SQLite index)")


@explorer_app.command("start")
def start(
    home: Path = HomeOption,
    node: str | None = typer.Option(None, "--node", envvar=NODE_ENV, help="the node's API URL"),
    listen: str | None = typer.Option(None, "--listen", help="HOST:PORT (127.0.0.1:7900)"),
    index: str | None = typer.Option(
        None,
        "--index",
        help="the index database: postgresql://USER@HOST:PORT/DB (default: SQLite in HOME)",
    ),
    log_level: str = typer.Option("warning", "--log-level", help="debug, info, warning, error"),
    output: OutputFormat = OutputOption,
) -> None:
    """Index the node's blocks (from where the index stopped) and serve the pages until Ctrl-C."""
    try:
        config = load_config(home) if (home / CONFIG_FILE).exists() else ExplorerConfig(home)
        changes: dict[str, Any] = {}
        if listen is not None:
            changes["host"], changes["port"] = parse_listen(listen)
        if node is not None:
            changes["node"] = node
        if index is not None:
            changes["index"] = index
        config = config.with_changes(**changes)
        write_config(config)
    except (ExplorerConfigError, StorageConfigError) as exc:
        fail(exc.code, str(exc), output)
    except OSError as exc:
        fail("explorer_home_unusable", f"cannot write {home}: {exc.strerror}", output)
    argv = ["--home", str(home), "--log-level", log_level, "--output", output.value]
    sys.stdout.flush()
    sys.stderr.flush()
    # The lean entry, same pid and streams: the CLI's modules would stay resident otherwise
    os.execv(sys.executable, [sys.executable, "-m", "voxpop.explorer", *argv])


@explorer_app.command("status")
def status(home: Path = HomeOption, output: OutputFormat = OutputOption) -> None:
    """How far the explorer of HOME has indexed (asked of the running explorer)."""
    try:
        config = load_config(home)
    except ExplorerConfigError as exc:
        fail(exc.code, str(exc), output)
    show_status(config.url, config.node, output)
