"""`voxpop storage start|status`: run a storage node (keep owners' encrypted shards, prove them
each epoch, earn), and see what it holds and earns.

    voxpop storage start --home DIR --capacity 20GiB [--node URL] [--listen 127.0.0.1:7700]
                         [--price N] [--collateral N] [--endpoint URL]
    voxpop storage status --home DIR

The options are kept in HOME/storage.toml: a later `start` with none of them runs the same node.
See docs/operations/storage-node.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer

from voxpop.cli.keyring import BACKEND_ENV, KeyringBackendChoice, read_passphrase
from voxpop.cli.options import NODE_ENV
from voxpop.cli.output import OutputFormat, OutputOption, emit, fail
from voxpop.storage.config import (
    DEFAULT_KEY,
    StorageConfig,
    StorageConfigError,
    load_config,
    parse_size,
    write_config,
)

storage_app = typer.Typer(
    no_args_is_help=True, help="Keep owners' encrypted shards, prove them each epoch, earn."
)

HomeOption: Any = typer.Option(..., "--home", help="the storage node's home (config, keys, shards)")
PASSPHRASE_ENV = "VOXPOP_KEYRING_PASSPHRASE"


def parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT. Raises StorageConfigError."""
    host, sep, port = text.rpartition(":")
    # Verify both parts: an address and a TCP port number
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise StorageConfigError(f"--listen takes HOST:PORT, not {text!r}")
    return host, int(port)


@storage_app.command("start")
def start(
    home: Path = HomeOption,
    capacity: str | None = typer.Option(
        None, "--capacity", help="space offered: 20GiB, 500MB, ... (needed the first time)"
    ),
    node: str | None = typer.Option(None, "--node", envvar=NODE_ENV, help="the node's API URL"),
    listen: str | None = typer.Option(None, "--listen", help="HOST:PORT (127.0.0.1:7700)"),
    endpoint: str | None = typer.Option(
        None, "--endpoint", help="the URL registered on chain (default http://HOST:PORT)"
    ),
    price: int | None = typer.Option(None, "--price", min=0, help="uvox per GiB per epoch"),
    collateral: int | None = typer.Option(
        None, "--collateral", min=0, help="uvox staked at registration (slashed on faults)"
    ),
    key: str | None = typer.Option(None, "--key", help=f"the account key (default {DEFAULT_KEY})"),
    keyring_backend: KeyringBackendChoice | None = typer.Option(
        None, "--keyring-backend", envvar=BACKEND_ENV, case_sensitive=False
    ),
    passphrase_file: Path | None = typer.Option(
        None, "--passphrase-file", help="first line: the passphrase"
    ),
    poll_interval: float | None = typer.Option(
        None, "--poll-interval", min=0.05, help="seconds between looks at the chain (1)"
    ),
    claim_interval: float | None = typer.Option(
        None, "--claim-interval", min=0.1, help="seconds between claims of pay (30)"
    ),
    log_level: str = typer.Option("warning", "--log-level", help="debug, info, warning, error"),
    output: OutputFormat = OutputOption,
) -> None:
    """Register (or update) on chain and serve until Ctrl-C / SIGTERM."""
    try:
        config = load_config(home) if (home / "storage.toml").exists() else StorageConfig(home)
        changes: dict[str, Any] = {}
        if capacity is not None:
            changes["capacity"] = parse_size(capacity)
        if listen is not None:
            changes["host"], changes["port"] = parse_listen(listen)
        for name, value in (
            ("node", node),
            ("endpoint", endpoint),
            ("price", price),
            ("collateral", collateral),
            ("key_name", key),
            ("poll_interval", poll_interval),
            ("claim_interval", claim_interval),
        ):
            if value is not None:
                changes[name] = value
        if keyring_backend is not None:
            changes["keyring_backend"] = keyring_backend.value
        config = config.with_changes(**changes)
        write_config(config)
    except StorageConfigError as exc:
        fail(exc.code, str(exc), output)
    except OSError as exc:
        fail("storage_home_unusable", f"cannot write {home}: {exc.strerror}", output)
    exec_role("voxpop.storage", home, config.keyring_backend, passphrase_file, log_level, output)


def exec_role(
    module: str,
    home: Path,
    keyring_backend: str,
    passphrase_file: Path | None,
    log_level: str,
    output: OutputFormat,
) -> NoReturn:
    """Become the role's lean entry point `python -m <module> --home HOME` (same pid and
    streams): the CLI's own modules would stay resident for the role's whole life otherwise."""
    env = dict(os.environ)
    argv = ["--home", str(home), "--log-level", log_level, "--output", output.value]
    if passphrase_file is not None:
        argv += ["--passphrase-file", str(passphrase_file)]
    elif keyring_backend == "file" and not env.get(PASSPHRASE_ENV):
        # Asked here, where a terminal is; handed to the role in its environment only
        passphrase = read_passphrase(KeyringBackendChoice.FILE, None, output)
        env[PASSPHRASE_ENV] = passphrase or ""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", module, *argv], env)


def show_status(url: str, node: str, output: OutputFormat) -> None:
    """What the role serving at `url` says of itself (GET /v1/status); exit 1 if it does not."""
    import httpx

    data: dict[str, Any] = {"url": url, "node": node}
    try:
        answer = httpx.get(f"{url}/v1/status", timeout=3.0)
        data.update(answer.json(), serving=answer.status_code == 200)
    except (httpx.HTTPError, ValueError):
        data["serving"] = False
    emit(data, output)
    if not data["serving"]:
        raise typer.Exit(1)


@storage_app.command("status")
def status(home: Path = HomeOption, output: OutputFormat = OutputOption) -> None:
    """What the storage node of HOME holds and earns (asked of the running node)."""
    try:
        config = load_config(home)
    except StorageConfigError as exc:
        fail(exc.code, str(exc), output)
    show_status(config.url, config.node, output)
