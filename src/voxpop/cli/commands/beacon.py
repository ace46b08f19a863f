"""`voxpop query beacon seed`: the randomness beacon's current seed (docs/protocol/beacon.md)."""

from __future__ import annotations

from typing import Any

from voxpop.cli.declare import QueryCommand
from voxpop.cli.options import StateQueryOptions
from voxpop.client import VoxClient


def read_seed(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    result = client.query("/beacon/seed", b"", height=opts.height, prove=opts.prove)
    return {
        "seed": result.value.hex() if result.value else None,
        "height": result.height,
        "verified": result.verified,
    }


COMMANDS = (
    QueryCommand(
        module="beacon",
        what="seed",
        help="The randomness beacon's seed after the block at --height (default: the latest).",
        read=read_seed,
    ),
)
