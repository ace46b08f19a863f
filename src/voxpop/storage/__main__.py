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
from pathlib import Path

# httpx imports its command-line client (and rich) when click is installed; never run here
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

PASSPHRASE_ENV = "VOXPOP_KEYRING_PASSPHRASE"


def report_error(code: str, message: str, output: str) -> None:
    """An error as the CLI reports it: JSON on stdout, or one line on stderr."""
    if output == "json":
        sys.stdout.write(json.dumps({"error": {"code": code, "message": message}}) + "\n")
    else:
        sys.stderr.write(f"error [{code}] {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="voxpop storage start", description=__doc__)
    parser.add_argument("--home", required=True, help="the storage node's home")
    parser.add_argument("--passphrase-file", default=None, help="first line: the passphrase")
    parser.add_argument("--log-level", default="warning", help="debug, info, warning, error")
    parser.add_argument("--output", "-o", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)

    from voxpop.crypto import CryptoError, Keyring, encode_address
    from voxpop.storage.config import StorageConfigError, load_config
    from voxpop.storage.service import StorageNode, StorageNodeError

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(Path(args.home))
    except StorageConfigError as exc:
        report_error(exc.code, str(exc), args.output)
        return 1
    passphrase = None
    if config.keyring_backend != "test":
        if args.passphrase_file is not None:
            try:
                lines = Path(args.passphrase_file).read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                report_error("passphrase_file_unreadable", str(exc.strerror), args.output)
                return 1
            passphrase = lines[0] if lines else ""
        else:
            passphrase = os.environ.get(PASSPHRASE_ENV)
    try:
        if config.keyring_backend == "test":
            keyring = Keyring(config.keyring_dir, "test")
        else:
            keyring = Keyring(config.keyring_dir, "file")
        account = keyring.load_private_key(config.key_name, passphrase)
    except CryptoError as exc:
        report_error(getattr(exc, "code", "key_unavailable"), str(exc), args.output)
        return 1
    node = StorageNode(config, account)
    sys.stderr.write(
        f"voxpop storage {encode_address(node.address)} serving {config.url} "
        f"({config.capacity} bytes) on {config.node}\n"
    )
    try:
        node.run()
    except StorageNodeError as exc:
        report_error(exc.code, str(exc), args.output)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
