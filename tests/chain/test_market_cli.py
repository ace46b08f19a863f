"""`voxpop tx market ...` and `voxpop query market ...` against a real (in-process) node: a buyer
posts an offer (random id, budget computed), it is listed by kind and by buyer, proven whole; bad
input is refused with the chain's codes."""

from __future__ import annotations

import json
import time
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

pytestmark = pytest.mark.slow

FUNDS = 1_000_000_000
app = typer.Typer()
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("market-cli") / "node"
    keyring = Keyring(home / "keyring", "test")
    buyer = keyring.import_seed("buyer", bytes([71]) * 32)
    seller = keyring.import_seed("seller", bytes([72]) * 32)
    with LocalNode.start(home, funds={buyer.address: FUNDS, seller.address: FUNDS}) as running:
        yield running


def run(node: LocalNode, *args: str) -> tuple[int, Any]:
    """Run `voxpop ARGS --output json` against the node; returns the exit code and the JSON."""
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, "VOXPOP_HOME": None, "VOXPOP_NODE": None}
    result = CliRunner().invoke(
        app, [*args, *options, "--output", "json"], env=env, catch_exceptions=False
    )
    return result.exit_code, json.loads(result.stdout)


def error(out: Any) -> str:
    err = out["error"]
    return str(err["code"] if isinstance(err, dict) else err)


def test_post_list_and_refusals(node: LocalNode) -> None:
    expires = str(int(time.time()) + 3_600)
    post = ("tx", "market", "post", "buyer", "utterance", "25uvox", "20")
    code, out = run(node, *post, "--purpose", "asr-training", "--expires", expires)
    assert code == 0 and out["code"] == 0, out
    assert out["budget"] == 500 and out["kind"] == "utterance"
    offer_id = out["offer_id"]

    code, shown = run(node, "query", "market", "offer", offer_id, "--prove")
    assert code == 0 and shown["verified"], shown
    assert shown["offer"]["escrow"] == 500 and shown["offer"]["price"] == 25
    code, listed = run(node, "query", "market", "offers", "utterance", "--prove")
    assert code == 0 and listed["verified"], listed
    assert [o["offer_id"] for o in listed["offers"]] == [offer_id]
    code, listed = run(node, "query", "market", "by-buyer", "buyer", "--prove")
    assert code == 0 and [o["offer_id"] for o in listed["offers"]] == [offer_id], listed
    code, params = run(node, "query", "market", "params")
    assert code == 0 and params["params"]["dispute_seconds"] == 86_400, params

    # Too little escrow, a grant that does not exist, nothing held, too early to close
    bad = ("--purpose", "asr-training", "--expires", expires, "--budget", "499uvox")
    code, out = run(node, *post, *bad)
    assert code != 0 and error(out) == "market_bad_budget", out
    some = "ab" * 32
    code, out = run(node, "tx", "market", "settle", "seller", offer_id, some, some)
    assert code != 0 and error(out) == "market_grant_not_found", out
    code, out = run(node, "tx", "market", "dispute", "buyer", offer_id, some, "--evidence", "00")
    assert code != 0 and error(out) == "market_not_held", out
    code, out = run(node, "tx", "market", "close", "buyer", offer_id)
    assert code != 0 and error(out) == "market_offer_open", out
    code, out = run(node, "query", "market", "record", "seller")
    assert code == 0 and out["record"] is None, out
