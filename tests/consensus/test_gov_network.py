"""Governance under real CometBFT: a proposal that changes a module's params and spends from the
community pool passes on a 4-validator testnet, and every node applies it at the same height."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import pytest

from tests.abci.comet_testing import wait_until
from tests.consensus.network import GAS, Network, b64
from voxpop.chain.encoding import decode_state, decode_uint
from voxpop.chain.module_accounts import COMMUNITY_POOL, module_address
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.gov.state import GovParams, id_bytes
from voxpop.chain.tx import encode_tx, make_body
from voxpop.crypto.keys import PrivateKey

pytestmark = [pytest.mark.cometbft, pytest.mark.slow]

VOTING_SECONDS = 8
MIN_DEPOSIT = 10_000_000
NEW_MEMO_LIMIT = 100


def with_gov_params(network: Network) -> None:
    """Short voting, in every node's genesis (before the first start)."""
    params = GovParams(
        min_deposit=MIN_DEPOSIT, max_deposit_period_seconds=60, voting_period_seconds=VOTING_SECONDS
    )
    for node in network.net.nodes:
        path = node.node_home.genesis_json
        genesis = json.loads(path.read_text())
        genesis["app_state"]["gov"] = {"params": asdict(params)}
        path.write_text(json.dumps(genesis))


def commit(network: Network, node: int, key: PrivateKey, msg: tuple[str, dict[str, Any]]) -> None:
    sequence = network.account(node, key)["sequence"]
    body = make_body(
        chain_id=network.chain_id,
        pub_key=key.public_key.raw,
        sequence=sequence,
        fee=AuthParams().min_fee(GAS),
        gas_limit=GAS,
        msgs=[msg],
    )
    tx = encode_tx(body, key.sign(body.sign_bytes()))
    reply = network.api[node].post("/v1/txs", json={"tx": b64(tx), "mode": "commit"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["code"] == 0, reply.json()


def query(network: Network, node: int, path: str, data: bytes = b"", height: int = 0) -> bytes:
    params = {"path": path, "data": data.hex(), **({"height": str(height)} if height else {})}
    reply = network.api[node].get("/v1/query", params=params)
    reply.raise_for_status()
    return bytes.fromhex(reply.json()["value"])


def balance(network: Network, node: int, address: bytes, height: int = 0) -> int:
    raw = query(network, node, "/bank/balance", address, height)
    return decode_uint(raw) if raw else 0


def test_param_change_and_spend_pass_on_every_node(
    make_network: Callable[..., Network],
) -> None:
    network = make_network(n=4, keys=2)
    with_gov_params(network)
    network.start()
    proposer = network.keys[0]
    recipient = bytes([7]) * 20
    pool = balance(network, 0, module_address(COMMUNITY_POOL))
    assert pool > 0  # the community tax of the first blocks
    amount = pool // 2
    actions = [
        {
            "type": "gov/ParamChange",
            "value": {"module": "auth", "changes": {"max_memo_bytes": NEW_MEMO_LIMIT}},
        },
        {"type": "gov/CommunitySpend", "value": {"recipient": recipient, "amount": amount}},
    ]
    submit = {
        "proposer": proposer.public_key.address,
        "title": "smaller memos, and a grant",
        "summary": "",
        "actions": actions,
        "deposit": MIN_DEPOSIT,
    }
    commit(network, 0, proposer, ("gov/SubmitProposal", submit))
    pid = decode_uint(query(network, 0, "/store", b"gov/seq"))
    for i in range(len(network)):  # every validator votes yes, each through its own node
        vote = {
            "voter": network.operator_key(i).public_key.address,
            "proposal_id": pid,
            "option": 1,
        }
        commit(network, i, network.operator_key(i), ("gov/Vote", vote))

    def ended(node: int) -> bool:
        raw = query(network, node, "/gov/proposal", id_bytes(pid))
        return bool(raw) and decode_state(raw)["status"] not in (1, 2)

    time.sleep(VOTING_SECONDS)
    wait_until(lambda: all(ended(i) for i in range(4)), 60, "the proposal to end on every node")

    tally = decode_state(query(network, 0, "/gov/tally", id_bytes(pid)))
    height = tally["height"]  # the block whose end-block tallied and applied it
    assert tally["yes"] == tally["bonded"] > 0
    for i in range(len(network)):
        proposal = decode_state(query(network, i, "/gov/proposal", id_bytes(pid)))
        assert proposal["status"] == 3, proposal  # passed
        assert decode_state(query(network, i, "/gov/tally", id_bytes(pid))) == tally
        before = decode_state(query(network, i, "/auth/params", height=height - 1))
        after = decode_state(query(network, i, "/auth/params", height=height))
        assert before["max_memo_bytes"] == AuthParams().max_memo_bytes
        assert after["max_memo_bytes"] == NEW_MEMO_LIMIT
        assert balance(network, i, recipient, height - 1) == 0
        assert balance(network, i, recipient, height) == amount
    network.wait_height(height + 2, range(4))
    network.assert_same_chain(range(4))
