"""The lean entry point `voxpop agent start` serves from: `python -m voxpop.agent --home DIR`.

The agent runs for days on a Pi-class device, so its process holds only what serving needs: not
the whole CLI (typer, rich, every role's commands), which `voxpop agent start` replaces itself
with this entry to shed (docs/benchmarks.md, Agent)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

# httpx imports its command-line client when click and rich are installed (they are: the CLI
# uses them) and does without it when not (`except ImportError` in httpx/__init__.py); the agent
# never runs it, and it brings rich (about 5 MB resident). Only this one, long-standing guard is
# relied on: pydantic.v1 and watchfiles would save 2 MB more, but their guards are less settled.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from voxpop.agent.errors import AgentError  # noqa: E402


def report_error(code: str, message: str, output: str) -> None:
    """An error as the CLI reports it: JSON on stdout, or one line on stderr."""
    if output == "json":
        sys.stdout.write(json.dumps({"error": {"code": code, "message": message}}) + "\n")
    else:
        sys.stderr.write(f"error [{code}] {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="voxpop agent start", description=__doc__)
    parser.add_argument("--home", required=True, help="the agent's home")
    parser.add_argument("--log-level", default="warning", help="debug, info, warning, error")
    parser.add_argument("--output", "-o", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)

    from voxpop.agent.agent import Agent
    from voxpop.agent.server import serve
    from voxpop.crypto import encode_address

    level = args.log_level.upper()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        agent = Agent.open(Path(args.home))
    except AgentError as exc:
        report_error(exc.code, str(exc), args.output)
        return 1
    sys.stderr.write(
        f"voxpop agent {encode_address(agent.address)} serving {agent.config.url}/v1 "
        f"for {encode_address(agent.owner)}\n"
    )
    serve(agent, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
