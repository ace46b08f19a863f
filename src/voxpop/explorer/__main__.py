"""The lean entry point `voxpop explorer start` serves from: `python -m voxpop.explorer --home DIR`.

The options are in HOME/explorer.toml (written by `voxpop explorer start`). The explorer signs
nothing, so it holds no key.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

# httpx imports its command-line client (and rich) when click is installed; never run here
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    from voxpop.explorer.config import ExplorerConfigError, load_config
    from voxpop.explorer.service import Explorer, ExplorerError
    from voxpop.storage.__main__ import report_error

    parser = argparse.ArgumentParser(prog="voxpop explorer start", description=__doc__)
    parser.add_argument("--home", required=True, help="the explorer's home")
    parser.add_argument("--log-level", default="warning", help="debug, info, warning, error")
    parser.add_argument("--output", "-o", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(Path(args.home))
        explorer = Explorer(config)
        sys.stderr.write(
            f"voxpop explorer serving {config.url} ({config.index_kind} index) on {config.node}\n"
        )
        explorer.run()
    except (ExplorerConfigError, ExplorerError) as exc:
        report_error(exc.code, str(exc), args.output)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
