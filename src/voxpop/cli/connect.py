"""Reaching a node from the CLI: its errors reported with their codes, and whom to trust for
proofs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.genesis import load_genesis
from voxpop.cli.output import OutputFormat, fail
from voxpop.client import VoxClientError
from voxpop.node.home import NodeHome, default_home


@contextmanager
def client_errors(fmt: OutputFormat) -> Iterator[None]:
    """Report any client error (node refusals, proof failures, no connection) via fail()."""
    try:
        yield
    except VoxClientError as exc:
        fail(exc.code, exc.message, fmt)


def trusted_keys(
    trust: list[str] | None, home: Path | None, fmt: OutputFormat
) -> list[bytes] | None:
    """The validator keys to check headers against: those given with --trust-validator, else the
    validators in the genesis of --home (when it has one); None to learn them from the node."""
    if trust:
        try:
            keys = [bytes.fromhex(k) for k in trust]
        except ValueError:
            fail("invalid_key", "--trust-validator takes a 64-digit hex public key", fmt)
        if any(len(k) != 32 for k in keys):
            fail("invalid_key", "--trust-validator takes a 64-digit hex public key", fmt)
        return keys
    genesis_path = NodeHome(home or default_home()).genesis_json
    if genesis_path.exists():
        try:
            return [v.pub_key for v in load_genesis(genesis_path).validators]
        except InvalidGenesisError as exc:
            fail(exc.name, f"{genesis_path}: {exc.message}", fmt)
    return None
