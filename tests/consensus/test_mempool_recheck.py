"""Under load, the check state kept across Commit never lets a block include a tx that then fails
`wrong_sequence` (voxpop.chain.check_state), on a real 4-validator CometBFT network.

Each account sends a chain of transfers (sequences 0..N-1) through one node and, for half of the
accounts, a conflicting chain (same sequences, other recipient) through another node at the same
time: whichever a proposer includes first makes the other node's pending copies invalid, and those
must be evicted on RECHECK, never included and failed. The follow-ups of an evicted tx stay valid
(their sequence comes next), so every account still reaches sequence N.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from typing import Any

import pytest

from tests.abci.comet_testing import wait_until
from tests.consensus.network import Network, b64, transfer
from voxpop.chain.errors import WrongSequenceError
from voxpop.chain.modules.beacon.entry import is_entry
from voxpop.chain.tx import tx_hash

pytestmark = [pytest.mark.cometbft, pytest.mark.slow]

CHAIN_LENGTH = 12
KEYS = 24


def test_no_tx_checktx_accepted_and_a_block_included_fails_wrong_sequence(
    make_network: Callable[..., Network],
) -> None:
    network = make_network(n=4, keys=KEYS, timeout_commit_ms=200)
    network.start()
    start_height = network.height(0)
    batches: list[tuple[int, list[bytes]]] = []
    for k, key in enumerate(network.keys):
        mine = network.keys[(k + 1) % KEYS].public_key.address
        theirs = network.keys[(k + 2) % KEYS].public_key.address
        chain = [transfer(network.chain_id, key, mine, 1, s) for s in range(CHAIN_LENGTH)]
        batches.append((k % 4, chain))
        if k % 2 == 0:
            rival = [transfer(network.chain_id, key, theirs, 2, s) for s in range(CHAIN_LENGTH)]
            batches.append(((k + 2) % 4, rival))
    accepted: set[bytes] = set()
    lock = threading.Lock()

    def submit(node: int, txs: list[bytes]) -> None:
        # In slices, so the chains of different accounts and their rivals interleave
        for lo in range(0, len(txs), 3):
            reply = network.api[node].post(
                "/v1/txs/batch", json={"txs": [b64(t) for t in txs[lo : lo + 3]]}
            )
            reply.raise_for_status()
            results: list[dict[str, Any]] = reply.json()["results"]
            with lock:
                accepted.update(
                    tx_hash(t)
                    for t, r in zip(txs[lo : lo + 3], results, strict=True)
                    if r["code"] == 0
                )

    threads = [threading.Thread(target=submit, args=batch) for batch in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    # Every account gets to sequence N on every node: evictions did not wedge anyone
    def all_done() -> bool:
        return all(
            network.account(i, key)["sequence"] == CHAIN_LENGTH
            for i in range(4)
            for key in network.keys
        )

    wait_until(all_done, 120, "every account at its last sequence on every node")
    end_height = network.assert_same_chain(range(4))

    included = failed = 0
    for height in range(start_height, end_height + 1):
        block = network.rpcs[0].get("block", height=height)["block"]
        results = network.rpcs[0].get("block_results", height=height)["txs_results"] or []
        raws = [base64.b64decode(t) for t in block["data"]["txs"] or []]
        for raw, result in zip(raws, results, strict=True):
            if is_entry(raw):
                continue  # the block's randomness beacon entry, not a tx anyone sent
            included += 1
            if tx_hash(raw) in accepted:
                # Verify a tx CheckTx accepted and a block included did not fail at all
                assert result["code"] != WrongSequenceError.code, result
                assert result["code"] == 0, result
            elif result["code"] != 0:
                failed += 1
    assert included == KEYS * CHAIN_LENGTH
    assert failed == 0
    # The rivals really raced: more txs were accepted somewhere than could be committed
    assert len(accepted) > KEYS * CHAIN_LENGTH
