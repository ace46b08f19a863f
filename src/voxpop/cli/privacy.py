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

from pathlib import Path
from typing import Any

import typer

from voxpop.cli.keyring import BACKEND_ENV, KeyringBackendChoice
from voxpop.cli.options import NODE_ENV
from voxpop.cli.output import OutputFormat, OutputOption, fail
from voxpop.cli.storage import exec_role, parse_listen, show_status
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
    exec_role("voxpop.privacy", home, config.keyring_backend, passphrase_file, log_level, output)


@privacy_app.command("status")
def status(home: Path = HomeOption, output: OutputFormat = OutputOption) -> None:
    """What the privacy node of HOME holds, serves and earns (asked of the running node)."""
    try:
        config = load_config(home)
    except PrivacyConfigError as exc:
        fail(exc.code, str(exc), output)
    show_status(config.url, config.node, output)
