"""`voxpop tx channels ...` and `voxpop query channels ...` against a real solo node: a payer
opens and tops up a channel whose vouchers an agent key signs, the payee claims from a vouchers
file, the lists are proven whole, bad input is refused with its code, settle and close."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from nacl.signing import SigningKey
from typer.testing import CliRunner

from voxpop.cli.keys import BACKEND_ENV, PASSPHRASE_ENV
from voxpop.cli.query import query_app
from voxpop.cli.tx import tx_app
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring
from voxpop.crypto.vouchers import derive_channel_id, sign_voucher

pytestmark = pytest.mark.slow

PAYER_SEED = bytes([61]) * 32
PAYEE_SEED = bytes([62]) * 32
AGENT = SigningKey(bytes([63]) * 32)  # signs vouchers; holds no account
FUNDS = 1_000_000_000_000

app = typer.Typer()
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("channels-cli") / "node"
    keyring = Keyring(home / "keyring", "test")
    payer = keyring.import_seed("payer", PAYER_SEED)
    payee = keyring.import_seed("payee", PAYEE_SEED)
    with LocalNode.start(home, funds={payer.address: FUNDS, payee.address: FUNDS}) as running:
        yield running


def run(node: LocalNode, *args: str) -> tuple[int, Any]:
    """Run `voxpop ARGS --output json` against the node; returns the exit code and the JSON."""
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    argv = [*args, *options, "--output", "json"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, "VOXPOP_HOME": None, "VOXPOP_NODE": None}
    result = CliRunner().invoke(app, argv, env=env, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def error(out: Any) -> str:
    """The error code of a refused command (refused by check_tx, or by the block)."""
    err = out["error"]
    return str(err["code"] if isinstance(err, dict) else err)


def address(node: LocalNode, name: str) -> str:
    return Keyring(node.home / "keyring", "test").show(name).address


def raw_address(node: LocalNode, name: str) -> bytes:
    from voxpop.crypto import decode_address

    return decode_address(address(node, name))


def vouchers_file(node: LocalNode, path: Path, *vouchers: tuple[bytes, int]) -> str:
    docs = []
    for channel_id, amount in vouchers:
        v = sign_voucher(AGENT, node.chain_id, channel_id, amount)
        docs.append(
            {"channel_id": channel_id.hex(), "amount": amount, "signature": v.signature.hex()}
        )
    path.write_text(json.dumps(docs))
    return str(path)


def test_open_claim_settle_close(node: LocalNode, tmp_path: Path) -> None:
    payer, payee = address(node, "payer"), address(node, "payee")
    code, nonce = run(node, "query", "channels", "nonce", "payer", "--prove")
    assert code == 0 and nonce["nonce"] == 0 and nonce["verified"], nonce
    agent_key = bytes(AGENT.verify_key).hex()
    code, out = run(
        node, "tx", "channels", "open", "payer", "payee", "2vox", "--voucher-key", agent_key
    )
    assert code == 0 and out["code"] == 0, out
    assert out["deposit"] == 2_000_000 and out["voucher_key"] == agent_key
    cid = derive_channel_id(node.chain_id, raw_address(node, "payer"), 0)

    code, out = run(node, "tx", "channels", "top-up", "payer", cid.hex(), "500000uvox")
    assert code == 0 and out["code"] == 0, out
    code, shown = run(node, "query", "channels", "channel", cid.hex(), "--prove")
    assert code == 0 and shown["verified"], shown
    ch = shown["channel"]
    assert (ch["payer"], ch["payee"], ch["deposit"], ch["claimed"]) == (payer, payee, 2_500_000, 0)

    # The payee claims the agent's latest voucher; replaying it is refused with the chain's code
    claim = vouchers_file(node, tmp_path / "v.json", (cid, 700_000))
    code, out = run(node, "tx", "channels", "claim", "payee", claim)
    assert code == 0 and out["code"] == 0, out
    code, out = run(node, "tx", "channels", "claim", "payee", claim)
    assert code != 0 and error(out) == "voucher_stale", out

    for role, who in (("by-payer", "payer"), ("by-payee", "payee")):
        code, listed = run(node, "query", "channels", role, who, "--prove")
        assert code == 0 and listed["verified"], listed
        assert [(c["id"], c["claimed"], c["unclaimed"]) for c in listed["channels"]] == [
            (cid.hex(), 700_000, 1_800_000)
        ]

    # The payer leaves: the window starts, collect is refused until it ends
    code, out = run(node, "tx", "channels", "settle", "payer", cid.hex())
    assert code == 0 and out["code"] == 0, out
    code, out = run(node, "tx", "channels", "collect", "payer", cid.hex())
    assert code != 0 and error(out) == "settle_window_open", out
    code, out = run(node, "tx", "channels", "top-up", "payer", cid.hex(), "1")
    assert code != 0 and error(out) == "channel_settling", out
    # The payee can still claim during the window, then ends the channel at once
    code, out = run(
        node,
        "tx",
        "channels",
        "claim",
        "payee",
        vouchers_file(node, tmp_path / "w.json", (cid, 900_000)),
    )
    assert code == 0 and out["code"] == 0, out
    code, out = run(node, "tx", "channels", "close", "payee", cid.hex())
    assert code == 0 and out["code"] == 0, out
    code, shown = run(node, "query", "channels", "channel", cid.hex(), "--prove")
    assert code == 0 and shown["channel"] is None and shown["verified"], shown
    code, listed = run(node, "query", "channels", "by-payee", "payee", "--prove")
    assert listed["channels"] == [] and listed["verified"], listed


def test_invalid_input_is_refused_before_signing(node: LocalNode, tmp_path: Path) -> None:
    code, out = run(node, "query", "channels", "channel", "zz")
    assert code != 0 and error(out) == "invalid_message", out
    code, out = run(node, "tx", "channels", "settle", "payer", "ab" * 31)
    assert code != 0 and error(out) == "invalid_message", out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"channel_id": "00" * 32, "amount": -1, "signature": "00" * 64}]))
    code, out = run(node, "tx", "channels", "claim", "payee", str(bad))
    assert code != 0 and error(out) == "invalid_message", out
    code, out = run(
        node, "tx", "channels", "open", "payer", "payer", "1vox", "--voucher-key", "11" * 32
    )
    assert code != 0 and error(out) == "self_channel", out
    # A well-formed tx the chain refuses: no such channel
    code, out = run(node, "tx", "channels", "close", "payee", "00" * 32)
    assert code != 0 and error(out) == "channel_not_found", out
