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
from voxpop.client.comet import ValidatorSet
from voxpop.client.light import LightClient, TrustOptions
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


def light_client(
    trust_height: int | None, trust_hash: str | None, home: Path | None, fmt: OutputFormat
) -> LightClient | None:
    """The light client that checks a CometBFT network's headers, rooted at what the user trusts
    out of band: --trust-height with --trust-hash, else the genesis validators of --home (they
    sign block 1), else None (the client then trusts the node's latest header on first use)."""
    # Verify a trust root is given whole
    if (trust_height is None) != (trust_hash is None):
        fail("invalid_trust_root", "--trust-height and --trust-hash go together", fmt)
    if trust_height is not None and trust_hash is not None:
        try:
            root = TrustOptions(trust_height, bytes.fromhex(trust_hash))
        except ValueError:
            fail("invalid_trust_root", "--trust-hash takes a 64-digit hex block hash", fmt)
        return LightClient(trust_options=root)
    genesis_path = NodeHome(home or default_home()).genesis_json
    if not genesis_path.exists():
        return None
    try:
        genesis = load_genesis(genesis_path)
    except InvalidGenesisError as exc:
        fail(exc.name, f"{genesis_path}: {exc.message}", fmt)
    validators = ValidatorSet.from_powers((v.pub_key, v.power) for v in genesis.validators)
    return LightClient(chain_id=genesis.chain_id, genesis_validators=validators)
