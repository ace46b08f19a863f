"""Benchmark: a VOX <-> ETH swap end to end (issue 20), through real processes.

Starts a real solo node (200 ms blocks) and a real geth --dev (a block every second), deploys
the shipped HTLC contract, then runs swaps between two parties, each its own swap tool (engine
and state dir) in its own thread, polling the chains every 0.2 s:

    baseline_vox_send_s   one plain bank send on the VOX chain, broadcast to committed
    baseline_eth_send_s   one plain ether transfer on geth, sent to mined (its receipt)
    swap_s                one swap, from the offer's post to both sides' claims landing (the
                          median of --swaps runs, alternating sell and buy)
    onchain_txs           txs per swap on both chains together (counted from the parties'
                          account sequences and nonces, not assumed)

    python bench/swap.py [--swaps 4]

Last line: swap_s=<seconds end to end> onchain_txs=<n per swap>
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_account import Account

from tests.support.nodeproc import NodeProcess
from tests.swap.geth_node import GethNode, geth_binary
from tests.swap.world import Party, make_party
from voxpop.crypto.keys import PrivateKey
from voxpop.swap.engine import OfferTerms
from voxpop.swap.eth import deploy_htlc

VOX = 5_000_000
WEI = 10**16
TIMES = {"offerer_seconds": 600, "taker_seconds": 300, "margin_seconds": 60}


def tx_count(party: Party) -> int:
    sequence = party.client.account(party.vox_key.public_key.address).sequence
    nonce = party.w3.eth.get_transaction_count(Account.from_key(party.eth_key).address)
    return sequence + int(nonce)


def one_swap(alice: Party, bob: Party, side: str) -> float:
    start = time.monotonic()
    offer = alice.engine().offer(OfferTerms(side, VOX, "ETH", WEI, **TIMES))
    taken = bob.engine().take(bytes.fromhex(offer.offer_id), margin_seconds=60)
    threads = [
        threading.Thread(target=p.engine().run, args=(r,), kwargs={"poll_s": 0.2})
        for p, r in ((alice, offer), (bob, taken))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    elapsed = time.monotonic() - start
    done = [alice.engine().store.load(offer.hashlock), bob.engine().store.load(taken.hashlock)]
    assert [r.outcome for r in done] == ["swapped", "swapped"], [r.notes for r in done]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--swaps", type=int, default=4)
    args = parser.parse_args()
    binary = geth_binary()
    if binary is None:
        raise SystemExit("geth is not installed: make swap-tools")
    root = Path(tempfile.mkdtemp(prefix="voxpop-bench-swap-"))
    keys = [PrivateKey(secrets.token_bytes(32)) for _ in range(2)]
    node = NodeProcess.create(root / "vox", [(k, 10**13) for k in keys])
    geth = GethNode.start(root / "geth", binary)
    try:
        node.start(timeout=180)
        deployer = secrets.token_bytes(32)
        geth.fund(Account.from_key(deployer).address, 10**18)
        contract = deploy_htlc(geth.web3(), deployer)
        alice = make_party("alice", keys[0], node, geth, contract, root / "alice")
        bob = make_party("bob", keys[1], node, geth, contract, root / "bob")

        start = time.monotonic()
        alice.client.send(alice.vox_key, bob.vox_key.public_key.address, 1)
        vox_send = time.monotonic() - start
        start = time.monotonic()
        geth.fund(Account.from_key(bob.eth_key).address, 1)
        eth_send = time.monotonic() - start

        before = tx_count(alice) + tx_count(bob)
        times = [one_swap(alice, bob, "sell" if i % 2 == 0 else "buy") for i in range(args.swaps)]
        txs = (tx_count(alice) + tx_count(bob) - before) / args.swaps
        print(f"swaps: {', '.join(f'{t:.2f}' for t in times)} s (alternating sell and buy)")
        print(f"baseline_vox_send_s={vox_send:.2f} baseline_eth_send_s={eth_send:.2f}")
        print(f"swap_s={statistics.median(times):.2f} onchain_txs={txs:g}")
        alice.close()
        bob.close()
    finally:
        node.stop()
        geth.stop()


if __name__ == "__main__":
    main()
