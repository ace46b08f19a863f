"""`voxpop tx directory publish|revoke` and `voxpop query directory keys` against a real solo
node: keys derived from the signer's keyring key, rotation, revocation, bad keys refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from voxpop.cli.keys import BACKEND_ENV, PASSPHRASE_ENV
from voxpop.cli.query import query_app
from voxpop.cli.tx import tx_app
from voxpop.client import VoxClient
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring, open_for_account
from voxpop.crypto.encryption_keys import derive_encryption_keys

pytestmark = pytest.mark.slow

ALICE_SEED = bytes([41]) * 32
BOB_SEED = bytes([42]) * 32
FUNDS = 1_000_000_000_000

app = typer.Typer()
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("directory-cli") / "node"
    keyring = Keyring(home / "keyring", "test")
    alice = keyring.import_seed("alice", ALICE_SEED)
    bob = keyring.import_seed("bob", BOB_SEED)
    with LocalNode.start(home, funds={alice.address: FUNDS, bob.address: FUNDS}) as running:
        yield running


def run(node: LocalNode, *args: str) -> tuple[int, Any]:
    """Run `voxpop ARGS --output json` against the node; returns the exit code and the JSON."""
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    argv = [*args, *options, "--output", "json"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, "VOXPOP_HOME": None, "VOXPOP_NODE": None}
    result = CliRunner().invoke(app, argv, env=env, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def test_publish_rotate_and_read(node: LocalNode) -> None:
    code, out = run(node, "tx", "directory", "publish", "alice")
    assert code == 0 and out["code"] == 0, out
    first = derive_encryption_keys(ALICE_SEED, 1)
    assert (out["version"], out["x25519"]) == (1, first.x25519_public.hex())
    code, keys = run(node, "query", "directory", "keys", "alice", "--prove")
    assert code == 0, keys
    assert keys["verified"] and keys["version"] == 1 and not keys["revoked"]
    assert keys["x25519"] == first.x25519_public.hex()
    assert keys["secp256k1"] == first.secp256k1_public.hex()
    # A rotation: the next version, keys of the next generation
    code, out = run(node, "tx", "directory", "publish", "alice")
    assert code == 0 and out["version"] == 2, out
    _, current = run(node, "query", "directory", "keys", "alice")
    assert current["x25519"] == derive_encryption_keys(ALICE_SEED, 2).x25519_public.hex()
    _, old = run(node, "query", "directory", "keys", "alice", "--key-version", "1", "--prove")
    assert old["version"] == 1 and old["x25519"] == keys["x25519"] and old["verified"]
    # What the CLI published, anyone can encrypt to, and alice opens from her key alone
    with VoxClient(node.url) as client:
        envelope = client.encrypt_to(current["address"], b"hello alice")
    assert open_for_account(ALICE_SEED, envelope) == b"hello alice"


def test_revoke(node: LocalNode) -> None:
    assert run(node, "tx", "directory", "publish", "bob")[0] == 0
    code, out = run(node, "tx", "directory", "revoke", "bob")
    assert code == 0 and out["code"] == 0 and out["version"] == 2, out
    _, keys = run(node, "query", "directory", "keys", "bob", "--prove")
    assert keys["revoked"] and keys["x25519"] is None and keys["version"] == 2


def test_query_account_without_keys(node: LocalNode) -> None:
    stranger = Keyring(node.home / "keyring", "test").import_seed("stranger", bytes([43]) * 32)
    code, keys = run(node, "query", "directory", "keys", stranger.address, "--prove")
    assert code == 0 and keys["verified"] and keys["version"] is None and keys["x25519"] is None


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (["--x25519", "00" * 32], "invalid_encryption_key"),  # small order
        (["--x25519", "zz"], "invalid_encryption_key"),  # not hex
        (["--secp256k1", "04" + "11" * 32], "invalid_encryption_key"),  # not compressed
        (["--key-version", "9"], "key_version_mismatch"),
        (["--key-version", "0"], "invalid_message"),
    ],
)
def test_invalid_publish(node: LocalNode, flags: list[str], error: str) -> None:
    code, out = run(node, "tx", "directory", "publish", "alice", *flags)
    assert code != 0 and out["error"]["code"] == error, out
