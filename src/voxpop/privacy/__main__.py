"""The lean entry point `voxpop privacy start` serves from: `python -m voxpop.privacy --home DIR`.

A privacy node runs for months and a devnet runs three: the process holds only what serving
needs, not the whole CLI, which `voxpop privacy start` replaces itself with this entry to shed
(as the storage node does). The options are in HOME/privacy.toml (written by `voxpop privacy
start`); the keyring passphrase comes from --passphrase-file or $VOXPOP_KEYRING_PASSPHRASE.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

# httpx imports its command-line client (and rich) when click is installed; never run here
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="voxpop privacy start", description=__doc__)
    parser.add_argument("--home", required=True, help="the privacy node's home")
    parser.add_argument("--passphrase-file", default=None, help="first line: the passphrase")
    parser.add_argument("--log-level", default="warning", help="debug, info, warning, error")
    parser.add_argument("--output", "-o", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)

    from voxpop.crypto import CryptoError, encode_address
    from voxpop.privacy.config import PrivacyConfigError, load_config
    from voxpop.privacy.service import PrivacyNode, PrivacyNodeError
    from voxpop.provider.service import ProviderError
    from voxpop.storage.__main__ import load_account, report_error

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(Path(args.home))
    except PrivacyConfigError as exc:
        report_error(exc.code, str(exc), args.output)
        return 1
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
    try:
        node = PrivacyNode(config, account)
        sys.stderr.write(
            f"voxpop privacy {encode_address(node.address)} serving {config.url} "
            f"(reencrypt at {config.price} uvox) on {config.node}\n"
        )
        node.run()
    except (PrivacyNodeError, ProviderError) as exc:
        report_error(exc.code, str(exc), args.output)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
