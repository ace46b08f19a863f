"""`voxpop tx services register|update|leave` and `voxpop query services offers|offer|
reputation` against a real solo node: an offer registered, listed by kind with proofs, updated,
left; bad input refused with its code before anything is sent."""

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
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring
from voxpop.crypto.keys import PrivateKey

pytestmark = pytest.mark.slow

ALICE_SEED = bytes([51]) * 32
BOB_SEED = bytes([52]) * 32
FUNDS = 1_000_000_000_000
RECEIPT_KEY = PrivateKey(bytes([53]) * 32).public_key.raw.hex()
STAKE = 1_000_000_000  # the default min_stake: 1,000 VOX

app = typer.Typer()
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("services-cli") / "node"
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


def address(node: LocalNode, name: str) -> str:
    return Keyring(node.home / "keyring", "test").show(name).address


def register(node: LocalNode, who: str, kind: str, *extra: str) -> tuple[int, Any]:
    return run(
        node,
        "tx",
        "services",
        "register",
        who,
        kind,
        "https://stt.example.org/v1",
        "250uvox",
        "1000vox",
        "--signing-key",
        RECEIPT_KEY,
        *extra,
    )


def test_register_list_update_leave(node: LocalNode) -> None:
    code, out = register(node, "alice", "stt", "--languages", "en-us,de")
    assert code == 0 and out["code"] == 0, out
    assert (out["type"], out["kind"], out["price"], out["stake"]) == (
        "services/Register",
        "stt",
        250,
        STAKE,
    )
    code, listed = run(node, "query", "services", "offers", "--kind", "stt", "--prove")
    assert code == 0 and listed["verified"], listed
    [offer] = listed["offers"]
    assert offer["provider"] == address(node, "alice")
    assert (offer["price"], offer["unit"], offer["languages"]) == (
        250,
        "10s_audio",
        ["en-us", "de"],
    )
    assert offer["signing_key"] == RECEIPT_KEY and offer["stake"] == STAKE and offer["active"]
    _, echo = run(node, "query", "services", "offers", "--kind", "echo", "--prove")
    assert echo["offers"] == [] and echo["verified"]

    code, out = run(
        node,
        "tx",
        "services",
        "update",
        "alice",
        "stt",
        "http://127.0.0.1:9000",
        "300",
        "--signing-key",
        RECEIPT_KEY,
        "--add-stake",
        "1vox",
    )
    assert code == 0 and out["code"] == 0, out
    code, one = run(node, "query", "services", "offer", "alice", "stt", "--prove")
    assert code == 0 and one["verified"], one
    shown = one["offer"]
    assert (shown["endpoint"], shown["price"], shown["languages"]) == (
        "http://127.0.0.1:9000",
        300,
        [],
    )
    assert shown["stake"] == STAKE + 1_000_000
    _, rep = run(node, "query", "services", "reputation", "alice", "--prove")
    assert rep["stake"] == STAKE + 1_000_000 and rep["first_registered"] > 0 and rep["verified"]
    assert (rep["settled"], rep["payers"], rep["slashes"]) == (0, 0, 0)

    code, out = run(node, "tx", "services", "leave", "alice", "stt")
    assert code == 0 and out["code"] == 0, out
    _, listed = run(node, "query", "services", "offers", "--kind", "stt")
    assert listed["offers"] == []
    _, one = run(node, "query", "services", "offer", "alice", "stt")
    assert one["offer"]["active"] is False and one["offer"]["leaving_at"] > 0
    code, out = register(node, "alice", "stt")
    assert code != 0 and out["error"]["code"] == "offer_leaving", out


def test_query_absent(node: LocalNode) -> None:
    code, one = run(node, "query", "services", "offer", "bob", "weather", "--prove")
    assert code == 0 and one["offer"] is None and one["verified"]
    code, rep = run(node, "query", "services", "reputation", "bob")
    assert code == 0 and rep["stake"] == 0 and rep["first_registered"] == 0


@pytest.mark.parametrize(
    ("kind", "extra", "error"),
    [
        ("teleport", [], "unknown_service_kind"),
        ("STT", [], "invalid_message"),
        ("weather", ["--signing-key", "zz"], "invalid_signing_key"),
        ("weather", ["--signing-key", "00" * 32], "invalid_signing_key"),
        ("weather", ["--languages", "EN"], "invalid_languages"),
    ],
)
def test_invalid_register(node: LocalNode, kind: str, extra: list[str], error: str) -> None:
    code, out = register(node, "bob", kind, *extra)
    assert code != 0 and out["error"]["code"] == error, out


def test_invalid_register_stake_and_endpoint(node: LocalNode) -> None:
    base = ["tx", "services", "register", "bob", "weather"]
    key = ["--signing-key", RECEIPT_KEY]
    code, out = run(node, *base, "ftp://x", "1", "1000vox", *key)
    assert code != 0 and out["error"]["code"] == "invalid_endpoint", out
    code, out = run(node, *base, "https://w.example", "1", "999vox", *key)
    assert code != 0 and out["error"]["code"] == "stake_too_low", out
    code, out = run(node, *base, "https://w.example", "0", "1000vox", *key)
    assert code != 0 and out["error"]["code"] == "invalid_amount", out


def test_invalid_update_and_leave_without_offer(node: LocalNode) -> None:
    code, out = run(
        node,
        "tx",
        "services",
        "update",
        "bob",
        "echo",
        "https://e.example",
        "1",
        "--signing-key",
        RECEIPT_KEY,
    )
    assert code != 0 and out["error"]["code"] == "offer_not_found", out
    code, out = run(node, "tx", "services", "leave", "bob", "echo")
    assert code != 0 and out["error"]["code"] == "offer_not_found", out
