"""`voxpop tx` and `voxpop query` against a real solo node process, through Typer's runner.

The keys live in the node home's test keyring; `tx_app` and `query_app` are driven directly so
these tests do not depend on how cli/main.py mounts them.
"""

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
from voxpop.crypto import MINIMAL_KDF, Keyring

ALICE_SEED = bytes([21]) * 32
BOB_SEED = bytes([22]) * 32
EMPTY_SEED = bytes([23]) * 32  # a key whose account was never funded
FUNDS = 1_000_000_000_000
PASSPHRASE = "correct horse battery"

app = typer.Typer()
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("cli") / "node"
    test_keys = Keyring(home / "keyring", "test")
    alice = test_keys.import_seed("alice", ALICE_SEED)
    test_keys.import_seed("bob", BOB_SEED)
    test_keys.import_seed("empty", EMPTY_SEED)
    with LocalNode.start(home, funds={alice.address: FUNDS}) as running:
        yield running


@pytest.fixture(scope="module", autouse=True)
def first_block(node: LocalNode) -> None:
    """The chain makes blocks only for txs, and state is readable from the first block on."""
    keyring = Keyring(node.home / "keyring", "test")
    with VoxClient(node.url) as client:
        client.send(keyring.load_private_key("alice"), keyring.show("bob").address, 1)


@pytest.fixture(scope="module")
def addresses(node: LocalNode) -> dict[str, str]:
    keyring = Keyring(node.home / "keyring", "test")
    return {name: keyring.show(name).address for name in ("alice", "bob")}


def run(node: LocalNode, *args: str, json_out: bool = True, **env: str) -> tuple[int, Any, str]:
    """Run `voxpop ARGS` against the node; returns exit code, parsed JSON (or text), stderr."""
    options = ["--node", node.url]
    if args[0] == "tx" or args[:2] in (("query", "bank"), ("query", "account")):
        options += ["--home", str(node.home), "--keyring-backend", env.pop("backend", "test")]
    if json_out:
        options += ["--output", "json"]
    # Options go before a "--", after which everything is positional (e.g. a negative amount)
    split = args.index("--") if "--" in args else len(args)
    argv = [*args[:split], *options, *args[split:]]
    environment: dict[str, str | None] = {
        PASSPHRASE_ENV: None,
        BACKEND_ENV: None,
        "VOXPOP_HOME": None,
        "VOXPOP_NODE": None,
        "COLUMNS": "200",
        **env,
    }
    result = CliRunner().invoke(app, argv, env=environment, catch_exceptions=False)
    out: Any = json.loads(result.stdout) if json_out and result.stdout.strip() else result.stdout
    return result.exit_code, out, result.stderr


def balance(node: LocalNode, who: str) -> int:
    code, out, _ = run(node, "query", "bank", "balance", who)
    assert code == 0, out
    value: int = out["balance"]
    return value


def test_send_and_balance(node: LocalNode, addresses: dict[str, str]) -> None:
    before = balance(node, "bob")
    code, out, _ = run(node, "tx", "bank", "send", "alice", addresses["bob"], "1.5vox")
    assert code == 0, out
    assert out["code"] == 0 and out["height"] > 0 and out["error"] is None
    assert (out["from"], out["to"], out["amount"]) == (
        addresses["alice"],
        addresses["bob"],
        1_500_000,
    )
    assert balance(node, addresses["bob"]) == before + 1_500_000
    # TO may be a key name; AMOUNT may be uvox or a bare integer
    for amount, uvox in (("250uvox", 250), ("3", 3)):
        code, out, _ = run(node, "tx", "bank", "send", "alice", "bob", amount)
        assert code == 0 and out["amount"] == uvox, out
    assert balance(node, "bob") == before + 1_500_253

    code, tx, _ = run(node, "query", "tx", out["hash"])
    assert code == 0 and tx["height"] == out["height"] and tx["code"] == 0
    code, block, _ = run(node, "query", "block", str(out["height"]))
    assert code == 0 and block["height"] == out["height"] and block["num_txs"] >= 1
    code, latest, _ = run(node, "query", "block")
    assert code == 0 and latest["height"] >= out["height"]


def test_send_sync_mode_and_fee(node: LocalNode, addresses: dict[str, str]) -> None:
    code, out, _ = run(
        node, "tx", "bank", "send", "alice", addresses["bob"], "1uvox",
        "--mode", "sync", "--fee", "0.0002vox", "--gas", "150000", "--memo", "hi",
    )  # fmt: skip
    assert code == 0 and out["height"] == 0 and out["code"] == 0, out


def test_query_account_and_proofs(node: LocalNode, addresses: dict[str, str]) -> None:
    run(node, "tx", "bank", "send", "alice", "bob", "1")
    code, out, _ = run(node, "query", "account", "alice", "--prove")
    assert code == 0, out
    assert out["verified"] is True and out["sequence"] >= 1 and out["pub_key"]
    code, out, _ = run(node, "query", "bank", "balance", addresses["bob"], "--prove")
    assert code == 0 and out["verified"] is True and out["balance"] > 0
    # At an earlier height the balance is the one from then
    code, old, _ = run(node, "query", "bank", "balance", "bob", "--height", "1")
    assert code == 0 and old["height"] == 1 and old["balance"] <= out["balance"]
    code, status, _ = run(node, "query", "status")
    assert code == 0 and status["node_mode"] == "solo" and status["latest_height"] >= 2


def test_invalid_proof_trust(node: LocalNode) -> None:
    code, out, _ = run(node, "query", "account", "alice", "--prove", "--trust-validator", "00" * 32)
    assert code != 0 and out["error"]["code"] == "proof_verification_failed"


def test_text_output(node: LocalNode) -> None:
    code, out, _ = run(node, "tx", "bank", "send", "alice", "bob", "2uvox", json_out=False)
    assert code == 0 and "committed in block" in out
    code, out, _ = run(node, "query", "bank", "balance", "bob", "--prove", json_out=False)
    assert code == 0 and "uvox" in out and "verified" in out
    code, out, _ = run(node, "query", "status", json_out=False)
    assert code == 0 and "solo" in out


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("tx", "bank", "send", "alice", "bob", "--", "-1vox"), "invalid_amount"),
        (("tx", "bank", "send", "alice", "bob", "0"), "invalid_amount"),
        (("tx", "bank", "send", "alice", "bob", "1.5uvox"), "invalid_amount"),
        (("tx", "bank", "send", "alice", "bob", "0.0000001vox"), "invalid_amount"),
        (("tx", "bank", "send", "alice", "bob", "5xyz"), "invalid_amount"),
        (("tx", "bank", "send", "alice", "bob", "1", "--fee", "-1"), "invalid_amount"),
        (("tx", "bank", "send", "alice", "nobody", "1"), "invalid_address"),
        (("tx", "bank", "send", "alice", "vox1qqqqqqqqqqqqqqqqqqqq", "1"), "invalid_address"),
        (("tx", "bank", "send", "carol", "bob", "1"), "key_not_found"),
        (("tx", "bank", "send", "empty", "alice", "1"), "insufficient_funds"),
        (("tx", "bank", "send", "alice", "bob", "1", "--fee", "1uvox"), "insufficient_fee"),
        (("tx", "bank", "send", "alice", "bob", "2000000vox"), "insufficient_funds"),
        (("query", "bank", "balance", "vox1nope"), "invalid_address"),
        (("query", "tx", "abcd"), "invalid_hash"),
        (("query", "tx", "00" * 32), "tx_not_found"),
        (("query", "block", "0"), "invalid_height"),
        (("query", "block", "99999999"), "block_not_found"),
        (("query", "bank", "balance", "alice", "--height", "99999999"), "height_not_available"),
    ],
)
def test_invalid_commands(node: LocalNode, args: tuple[str, ...], code: str) -> None:
    before = balance(node, "alice"), balance(node, "bob")
    exit_code, out, _ = run(node, *args)
    assert exit_code != 0
    assert out["error"]["code"] == code, out
    assert (balance(node, "alice"), balance(node, "bob")) == before


def test_invalid_node_unreachable(node: LocalNode) -> None:
    result = CliRunner().invoke(
        app, ["query", "status", "--node", "http://127.0.0.1:9", "--output", "json"]
    )
    assert result.exit_code != 0
    assert json.loads(result.stdout)["error"]["code"] == "node_unreachable"


def test_file_keyring_needs_a_passphrase(node: LocalNode, addresses: dict[str, str]) -> None:
    keyring = Keyring(node.home / "keyring", "file", kdf=MINIMAL_KDF)
    keyring.import_seed("sealed", ALICE_SEED, PASSPHRASE)
    code, out, _ = run(node, "tx", "bank", "send", "sealed", addresses["bob"], "1", backend="file")
    assert code != 0 and out["error"]["code"] == "passphrase_required"
    code, out, _ = run(
        node, "tx", "bank", "send", "sealed", addresses["bob"], "1", backend="file",
        **{PASSPHRASE_ENV: "wrong passphrase!"},
    )  # fmt: skip
    assert code != 0 and out["error"]["code"] == "wrong_passphrase"
    code, out, _ = run(
        node, "tx", "bank", "send", "sealed", addresses["bob"], "1", backend="file",
        **{PASSPHRASE_ENV: PASSPHRASE},
    )  # fmt: skip
    assert code == 0 and out["code"] == 0, out


def test_query_auth_account_is_query_account(node: LocalNode, addresses: dict[str, str]) -> None:
    # `query account` is kept, hidden, from before the naming rule; both read the same account
    code, new, _ = run(node, "query", "auth", "account", addresses["alice"], "--height", "1")
    assert code == 0 and new["height"] == 1 and new["address"] == addresses["alice"], new
    code, old, _ = run(node, "query", "account", addresses["alice"], "--height", "1")
    assert code == 0 and old == new
