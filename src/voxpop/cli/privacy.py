"""`voxpop privacy start|status`: run a re-encryption (privacy) node (hold key fragments of
access grants, re-encrypt granted capsules for paying grantees, record every access on chain),
and see what it holds and earns.

    voxpop privacy start --home DIR [--node URL] [--listen 127.0.0.1:7800] [--price N]
                         [--stake N] [--endpoint URL] [--unpaid]
    voxpop privacy status --home DIR

The options are kept in HOME/privacy.toml: a later `start` with none of them runs the same node.
See docs/operations/privacy-node.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer

from voxpop.cli.keyring import BACKEND_ENV, KeyringBackendChoice, read_passphrase
from voxpop.cli.options import NODE_ENV
from voxpop.cli.output import OutputFormat, OutputOption, emit, fail
from voxpop.cli.storage import PASSPHRASE_ENV, parse_listen
from voxpop.privacy.config import (
    CONFIG_FILE,
    DEFAULT_KEY,
    PrivacyConfig,
    PrivacyConfigError,
    load_config,
    write_config,
)
from voxpop.storage.config import StorageConfigError

privacy_app = typer.Typer(
    no_args_is_help=True,
    help="Re-encrypt granted data keys for paying grantees (threshold proxy re-encryption), earn.",
)

HomeOption: Any = typer.Option(..., "--home", help="the privacy node's home (config, keys)")


@privacy_app.command("start")
def start(
    home: Path = HomeOption,
    node: str | None = typer.Option(None, "--node", envvar=NODE_ENV, help="the node's API URL"),
    listen: str | None = typer.Option(None, "--listen", help="HOST:PORT (127.0.0.1:7800)"),
    endpoint: str | None = typer.Option(
        None, "--endpoint", help="the URL registered on chain (default http://HOST:PORT)"
    ),
    price: int | None = typer.Option(None, "--price", min=1, help="uvox per re-encryption"),
    unpaid: bool | None = typer.Option(
        None, "--unpaid/--paid", help="also serve requests without a voucher (devnets, benches)"
    ),
    stake: int | None = typer.Option(
        None, "--stake", min=0, help="uvox staked with the reencrypt offer (slashed on misuse)"
    ),
    key: str | None = typer.Option(None, "--key", help=f"the account key (default {DEFAULT_KEY})"),
    keyring_backend: KeyringBackendChoice | None = typer.Option(
        None, "--keyring-backend", envvar=BACKEND_ENV, case_sensitive=False
    ),
    passphrase_file: Path | None = typer.Option(
        None, "--passphrase-file", help="first line: the passphrase"
    ),
    poll_interval: float | None = typer.Option(
        None, "--poll-interval", min=0.05, help="seconds between records and grant reads (0.5)"
    ),
    log_level: str = typer.Option("warning", "--log-level", help="debug, info, warning, error"),
    output: OutputFormat = OutputOption,
) -> None:
    """Register (or update) the reencrypt offer on chain and serve until Ctrl-C / SIGTERM."""
    try:
        config = load_config(home) if (home / CONFIG_FILE).exists() else PrivacyConfig(home)
        changes: dict[str, Any] = {}
        if listen is not None:
            changes["host"], changes["port"] = parse_listen(listen)
        for name, value in (
            ("node", node),
            ("endpoint", endpoint),
            ("price", price),
            ("stake", stake),
            ("key_name", key),
            ("poll_interval", poll_interval),
            ("unpaid", unpaid),
        ):
            if value is not None:
                changes[name] = value
        if keyring_backend is not None:
            changes["keyring_backend"] = keyring_backend.value
        config = config.with_changes(**changes)
        write_config(config)
    except (PrivacyConfigError, StorageConfigError) as exc:
        fail(exc.code, str(exc), output)
    except OSError as exc:
        fail("privacy_home_unusable", f"cannot write {home}: {exc.strerror}", output)
    env = dict(os.environ)
    argv = ["--home", str(home), "--log-level", log_level, "--output", output.value]
    if passphrase_file is not None:
        argv += ["--passphrase-file", str(passphrase_file)]
    elif config.keyring_backend == "file" and not env.get(PASSPHRASE_ENV):
        # Asked here, where a terminal is; handed to the node in its environment only
        passphrase = read_passphrase(KeyringBackendChoice.FILE, None, output)
        env[PASSPHRASE_ENV] = passphrase or ""
    # The process becomes the privacy node's lean entry point (same pid, streams)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "voxpop.privacy", *argv], env)


@privacy_app.command("status")
def status(home: Path = HomeOption, output: OutputFormat = OutputOption) -> None:
    """What the privacy node of HOME holds, serves and earns (asked of the running node)."""
    import httpx

    try:
        config = load_config(home)
    except PrivacyConfigError as exc:
        fail(exc.code, str(exc), output)
    data: dict[str, Any] = {"url": config.url, "node": config.node}
    try:
        answer = httpx.get(f"{config.url}/v1/status", timeout=3.0)
        data.update(answer.json(), serving=answer.status_code == 200)
    except (httpx.HTTPError, ValueError):
        data["serving"] = False
    emit(data, output)
    if not data["serving"]:
        raise typer.Exit(1)
