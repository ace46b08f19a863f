"""The fee market on a real solo node: CheckTx refuses a fee below the base price, a proposal
orders txs by tip, the SDK's and the CLI's default fee (`--fee auto`) follow the base price, and
`voxpop query feemarket base-price` reads it, proven.

The genesis floor is twice auth's minimum gas price, so the base price (at its floor) is above
what a fee computed from auth's minimum alone would pay.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from voxpop.chain.errors import FeeBelowBaseError
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.feemarket.state import FeemarketParams, charge
from voxpop.cli.keys import BACKEND_ENV, PASSPHRASE_ENV
from voxpop.cli.query import query_app
from voxpop.cli.tx import tx_app
from voxpop.client import DEFAULT_SEND_GAS, TxRejectedError, VoxClient
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring
from voxpop.crypto.address import encode_address
from voxpop.crypto.keys import PrivateKey

pytestmark = pytest.mark.slow

FLOOR = 2 * FeemarketParams().min_base_price  # 2 uvox per 1,000 gas
SENDERS = [PrivateKey(bytes([90 + i]) * 32) for i in range(5)]
FUNDS = 10**12
# Blocks every 1.5 s, so txs sent together land in one proposal
BLOCK_MS = 1500

app = typer.Typer()
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("feemarket") / "node"
    keyring = Keyring(home / "keyring", "test")
    payer = keyring.import_seed("payer", bytes([89]) * 32)
    funds = {payer.address: FUNDS, **{encode_address(k.public_key.address): FUNDS for k in SENDERS}}
    LocalNode.init_home(home, funds=funds, block_interval_ms=BLOCK_MS)
    genesis_path = home / "config" / "genesis.json"
    genesis = json.loads(genesis_path.read_text())
    params = genesis["app_state"].setdefault("feemarket", {"params": {}})["params"]
    params.update({**_defaults(), "min_base_price": FLOOR})
    genesis_path.write_text(json.dumps(genesis))
    with LocalNode.start(home, block_interval_ms=BLOCK_MS) as running:
        yield running


def _defaults() -> dict[str, int]:
    p = FeemarketParams()
    return {name: getattr(p, name) for name in p.__slots__}


def test_fee_below_base_is_refused_by_check_tx(node: LocalNode) -> None:
    with VoxClient(node.url) as client:
        assert client.base_price() == FLOOR
        below = AuthParams().min_fee(DEFAULT_SEND_GAS)  # auth's minimum: half the base charge
        with pytest.raises(TxRejectedError) as refused:
            client.send(SENDERS[0], SENDERS[1].public_key.address, 1, fee=below, mode="sync")
        assert refused.value.numeric_code == FeeBelowBaseError.code
        # The SDK's default fee is the base charge: it goes through
        assert client.estimate_fee(DEFAULT_SEND_GAS) == charge(DEFAULT_SEND_GAS, FLOOR)
        done = client.send(SENDERS[0], SENDERS[1].public_key.address, 1)
        assert done.code == 0, done.log


def test_proposal_orders_by_tip(node: LocalNode) -> None:
    base = charge(DEFAULT_SEND_GAS, FLOOR)
    with VoxClient(node.url) as client:
        client.wait_for_tx(
            client.send(SENDERS[4], SENDERS[0].public_key.address, 1).tx_hash, timeout=30
        )
        # Sent lowest tip first; the block must hold them highest tip first
        tips = [0, 10, 20, 30]
        hashes = [
            client.send(
                SENDERS[i], SENDERS[4].public_key.address, 1, fee=base + tip, mode="sync"
            ).tx_hash
            for i, tip in enumerate(tips)
        ]
        records = [client.wait_for_tx(h, timeout=30) for h in hashes]
    by_block: dict[int, list[tuple[int, int]]] = {}
    for tip, record in zip(tips, records, strict=True):
        by_block.setdefault(record.height, []).append((record.index, tip))
    assert any(len(v) > 1 for v in by_block.values()), by_block
    for placed in by_block.values():
        in_block = [tip for _, tip in sorted(placed)]
        assert in_block == sorted(in_block, reverse=True), by_block


def run(node: LocalNode, *args: str) -> tuple[int, Any]:
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, "VOXPOP_HOME": None, "VOXPOP_NODE": None}
    result = CliRunner().invoke(app, [*args, *options, "--output", "json"], env=env)
    return result.exit_code, json.loads(result.stdout)


def test_cli_fee_auto_follows_the_base_price(node: LocalNode) -> None:
    code, out = run(node, "query", "feemarket", "base-price", "--prove")
    assert code == 0 and out["verified"], out
    assert (out["base_price"], out["floor"]) == (FLOOR, FLOOR)
    assert out["base_charge"] == charge(DEFAULT_SEND_GAS, FLOOR)
    to = encode_address(SENDERS[2].public_key.address)
    code, out = run(node, "tx", "bank", "send", "payer", to, "1uvox")  # --fee auto
    assert code == 0 and out["code"] == 0, out
    code, out = run(node, "tx", "bank", "send", "payer", to, "1uvox", "--fee", "auto")
    assert code == 0 and out["code"] == 0, out
    below = str(AuthParams().min_fee(DEFAULT_SEND_GAS))
    code, out = run(node, "tx", "bank", "send", "payer", to, "1uvox", "--fee", below)
    assert code != 0 and out["error"]["code"] == FeeBelowBaseError.name, out
