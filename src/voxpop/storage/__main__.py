"""The lean entry point `voxpop storage start` serves from: `python -m voxpop.storage --home DIR`.

A storage node runs for months, on a device too, and a devnet runs six: the process holds only
what serving needs, not the whole CLI (typer, rich, every role's commands), which
`voxpop storage start` replaces itself with this entry to shed (as the agent does). The node's
options are in HOME/storage.toml (written by `voxpop storage start`); the keyring passphrase comes
from --passphrase-file or $VOXPOP_KEYRING_PASSPHRASE.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

# httpx imports its command-line client (and rich) when click is installed; never run here
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

if TYPE_CHECKING:
    from voxpop.crypto.keys import PrivateKey

PASSPHRASE_ENV = "VOXPOP_KEYRING_PASSPHRASE"


def report_error(code: str, message: str, output: str) -> None:
    """An error as the CLI reports it: JSON on stdout, or one line on stderr."""
    if output == "json":
        sys.stdout.write(json.dumps({"error": {"code": code, "message": message}}) + "\n")
    else:
        sys.stderr.write(f"error [{code}] {message}\n")


def load_account(
    keyring_dir: Path, key_name: str, backend: str, passphrase_file: str | None
) -> PrivateKey:
    """A role's account key from its home's keyring; the passphrase from the file's first line,
    else $VOXPOP_KEYRING_PASSPHRASE (the test backend has none). Raises CryptoError, OSError
    (the passphrase file)."""
    from voxpop.crypto import Keyring

    passphrase = None
    if backend != "test":
        if passphrase_file is not None:
            lines = Path(passphrase_file).read_text(encoding="utf-8").splitlines()
            passphrase = lines[0] if lines else ""
        else:
            passphrase = os.environ.get(PASSPHRASE_ENV)
    keyring = Keyring(keyring_dir, "test" if backend == "test" else "file")
    return keyring.load_private_key(key_name, passphrase)


def role_main(
    role: str,
    doc: str | None,
    argv: list[str] | None,
    load: Callable[[Path], Any],
    start: Callable[[Any, PrivateKey], Callable[[], None]],
    errors: tuple[type[Exception], ...],
) -> int:
    """A role's lean entry: its options, its config from HOME (`load`), its account key, then
    `start(config, account)` builds it and returns what serves until SIGINT/SIGTERM. `errors`
    (each with a stable `code`) are reported as the CLI reports errors; returns the exit code."""
    parser = argparse.ArgumentParser(prog=f"voxpop {role} start", description=doc)
    parser.add_argument("--home", required=True, help=f"the {role} node's home")
    parser.add_argument("--passphrase-file", default=None, help="first line: the passphrase")
    parser.add_argument("--log-level", default="warning", help="debug, info, warning, error")
    parser.add_argument("--output", "-o", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)

    from voxpop.crypto import CryptoError

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        config = load(Path(args.home))
        try:
            account = load_account(
                config.keyring_dir, config.key_name, config.keyring_backend, args.passphrase_file
            )
        except OSError as exc:
            report_error("passphrase_file_unreadable", str(exc.strerror), args.output)
            return 1
        except CryptoError as exc:
            report_error(getattr(exc, "code", "key_unavailable"), str(exc), args.output)
            return 1
        start(config, account)()
    except errors as exc:
        report_error(getattr(exc, "code", "start_failed"), str(exc), args.output)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    from voxpop.crypto import encode_address
    from voxpop.storage.config import StorageConfig, StorageConfigError, load_config
    from voxpop.storage.service import StorageNode, StorageNodeError

    def start(config: StorageConfig, account: PrivateKey) -> Callable[[], None]:
        node = StorageNode(config, account)
        sys.stderr.write(
            f"voxpop storage {encode_address(node.address)} serving {config.url} "
            f"({config.capacity} bytes) on {config.node}\n"
        )
        return node.run

    errors = (StorageConfigError, StorageNodeError)
    return role_main("storage", __doc__, argv, load_config, start, errors)


if __name__ == "__main__":
    sys.exit(main())
