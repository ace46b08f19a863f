"""`python -m voxpop.node.cometbft --home HOME`: run one node in the foreground (what
`voxpop.node.testnet` starts for each node)."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from voxpop.chain.abci import Application
from voxpop.node.cometbft.binary import CometBFTError
from voxpop.node.cometbft.genesis import GenesisError
from voxpop.node.cometbft.supervisor import run_cometbft_node
from voxpop.node.home import NodeHome

log = logging.getLogger("voxpop.node.cometbft")


def load_app_factory(spec: str) -> Callable[[NodeHome], Application]:
    """Resolve `module:attribute` to an app factory taking a NodeHome.

    Raises ValueError for a malformed spec, ImportError/AttributeError if it does not resolve.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"app factory must be module:attribute, not {spec!r}")
    factory: Callable[[NodeHome], Application] = getattr(importlib.import_module(module_name), attr)
    return factory


def main(argv: list[str] | None = None) -> int:
    """Run one node in the foreground (what `testnet_up` starts for each node)."""
    parser = argparse.ArgumentParser(prog="python -m voxpop.node.cometbft", description=__doc__)
    parser.add_argument("--home", required=True, type=Path, help="the node home")
    parser.add_argument(
        "--app",
        default="voxpop.node.app_factory:open_app",
        help="application factory, module:attribute taking a NodeHome",
    )
    parser.add_argument("--no-api", action="store_true", help="do not serve the HTTP API")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from voxpop.node.config import ConfigError

    home = NodeHome(args.home.resolve())
    try:
        app = load_app_factory(args.app)(home)
        return run_cometbft_node(home, app=app, serve_http_api=not args.no_api)
    except (CometBFTError, GenesisError, ConfigError, OSError, ValueError, ImportError) as exc:
        log.error("%s", exc)
        return 2


if __name__ == "__main__":
    sys.exit(main())
