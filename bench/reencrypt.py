"""Benchmark: threshold re-encryption for access grants (issue 14), through real processes.

Starts a real solo node, six storage nodes and three privacy nodes (`python -m voxpop.privacy`,
1 uvox per re-encryption, paid through payment channels as always), stores 100 KB objects as an
owner, grants them to a buyer (kits and fragments to the nodes, consent/Grant), then:

    baseline_reencrypt_per_s   nucypher-core's umbral reencrypt of one capsule, in this process:
                               the raw library rate the node is measured against
    reencrypt_per_s            paid access requests one node process answers per second (POST
                               /v1/reencrypt: the voucher checked, the request checked against
                               the held grant, re-encrypt, sign the attestation and the receipt,
                               queue it for the batched consent/Record), from --streams paying
                               clients at once (4 by default; threads of this process, each on
                               its own channel, signing vouchers and checking receipts here too)
    grant_check_ms_p50         a proven read of the grant (/consent/grant with its proof checked
                               by the light client): what a node does when its record is stale
    end_to_end_object_ms_p50   the buyer's whole fetch of one 100 KB object: sign a request, ask
                               the grant's nodes (the first 2 of 3 that verify), combine, open
                               the kit, fetch 4 shards as grantee, decode, decrypt, check the
                               content hash

    python bench/reencrypt.py [--objects 10] [--rounds 3] [--requests 1500] [--streams 4]

Last line: reencrypt_per_s=<n> grant_check_ms_p50=<ms> end_to_end_object_ms_p50=<ms>
baseline_reencrypt_per_s=<n> burst_reencrypt_per_s=<n>   (reencrypt_per_s: sustained, a node
answering no faster than its consent/Record txs land (several in flight a block): a 503 busy is
waited out and retried; burst: the first BURST answers, within the node's record backlog). The
lines before it show the node's records in the sustained window (records, Record txs, resends,
resyncs, drops), the rate counted to the last of them landing (the window's answers over the
time until the node holds none queued or in flight), and the CPU time per answer in that window
of the node process, the chain node and this process (the paying clients): on a shared machine
the rate moves with the load, the CPU per answer much less.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nucypher_core import MessageKit
from nucypher_core.umbral import SecretKey, Signer, generate_kfrags, reencrypt

from bench.storage import cpu_seconds
from tests.support.market import BUYER, PRIVACY_KEYS, set_market_genesis, start_privacy_nodes
from tests.support.vault import OWNER, STORAGE_KEYS, STORAGE_PARAMS, init_chain, start_storage_nodes
from voxpop.client import VoxClient
from voxpop.client.consent import label_object
from voxpop.client.consent.chainview import fetch_grant
from voxpop.client.consent.fetch import Buyer
from voxpop.client.consent.grants import GrantTerms, create_grant
from voxpop.client.consent.nodes import paid_ask, parse_answer
from voxpop.client.payments import PayingClient
from voxpop.client.payments.errors import NoProviderError
from voxpop.client.storage import DataVault, PutPolicy
from voxpop.client.testing import LocalNode
from voxpop.crypto.consent import new_nonce, sign_access_request
from voxpop.privacy.testing import LocalPrivacyNode

OBJECT_SIZE = 100_000
STREAMS = 4  # paying clients sending to one node at once (--streams)
BURST = 240  # answers within a node's record backlog (12 txs of 32 queued, 8 more in flight)
BUSY_PAUSE = 0.02
CBOR = "application/cbor"


def baseline_per_s(count: int = 2_000) -> float:
    """The library's re-encryptions per second of one capsule, in this process."""
    delegating, receiving, signing = SecretKey.random(), SecretKey.random(), SecretKey.random()
    capsule = MessageKit(delegating.public_key(), os.urandom(32), None).capsule
    kfrag = generate_kfrags(delegating, receiving.public_key(), Signer(signing), 2, 3, True, True)[
        0
    ]
    start = time.perf_counter()
    for _ in range(count):
        reencrypt(capsule, kfrag)
    return count / (time.perf_counter() - start)


def node_rate(payers: list[PayingClient], node: bytes, requests: list[bytes]) -> float:
    """Paid answers per second one node gives `requests`, one stream per paying client (each
    on its own channel to the node), all at once; each answer must parse."""
    shares = [requests[i :: len(payers)] for i in range(len(payers))]

    def stream(payer: PayingClient, share: list[bytes]) -> None:
        for body in share:
            while True:
                try:
                    answer = payer.call_provider(node, "reencrypt", body, content_type=CBOR)
                    break
                except NoProviderError as exc:
                    # Verify it is the node's back-pressure (its records wait for a block)
                    if "busy" not in exc.message:
                        raise
                    time.sleep(BUSY_PAUSE)
            parse_answer("bench", answer.body)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(payers)) as pool:
        list(pool.map(stream, payers, shares))
    return len(requests) / (time.perf_counter() - start)


def drain_seconds(node: LocalPrivacyNode, limit: float = 30.0) -> float:
    """Seconds until the node holds no record queued or in flight: its answers all on chain."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        status = node.status()
        if status["records_queued"] == 0 and status["record_txs_in_flight"] == 0:
            break
        time.sleep(0.05)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=10, help="100 KB objects granted")
    parser.add_argument("--rounds", type=int, default=3, help="end-to-end fetches of each")
    parser.add_argument("--requests", type=int, default=1_500, help="requests for the rate")
    parser.add_argument(
        "--streams", type=int, default=STREAMS, help="paying clients asking one node at once"
    )
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]
    base = baseline_per_s()
    with tempfile.TemporaryDirectory(prefix="bench-reencrypt-") as tmp:
        root = Path(tmp)
        init_chain(root / "chain", [OWNER, BUYER, *STORAGE_KEYS[:6], *PRIVACY_KEYS], STORAGE_PARAMS)
        set_market_genesis(root / "chain" / "config" / "genesis.json")
        node = LocalNode.start(root / "chain")
        storage, privacy = [], []
        try:
            with ThreadPoolExecutor(max_workers=2) as pool:
                stored = pool.submit(start_storage_nodes, root, node.url, STORAGE_KEYS[:6])
                holding = pool.submit(start_privacy_nodes, root, node.url, PRIVACY_KEYS, 1)
                # Each kept as soon as it started: what started is stopped if the other fails
                try:
                    storage = stored.result()
                finally:
                    privacy = holding.result()
            with VoxClient(node.url) as vox, DataVault(vox, OWNER, root / "owner") as vault:
                assert vox.publish_keys(BUYER).code == 0
                ids = []
                for i in range(args.objects):
                    data = os.urandom(OBJECT_SIZE)
                    put = vault.put(data, f"o{i}", PutPolicy(k=4, n=6, epochs=50))
                    label_object(vault.index, put.object_id, data, kind="utterance", seconds=3)
                    ids.append(put.object_id)
                # One grant for the rate (a single node answers: accesses are used, not
                # counted), one for the buyer's fetches
                accesses = min(4_096, args.requests + 10)
                expiry = int(time.time()) + 3_600
                terms = GrantTerms(
                    BUYER.public_key.address, "research", expiry, accesses, tuple(ids)
                )
                rate_grant = create_grant(vault, terms).grant_id
                fetch_terms = GrantTerms(
                    BUYER.public_key.address, "research", expiry, 4_096, tuple(ids)
                )
                fetch_id = create_grant(vault, fetch_terms).grant_id

                checks = []
                for _ in range(50):
                    t = time.perf_counter()
                    assert fetch_grant(vox, fetch_id) is not None
                    checks.append((time.perf_counter() - t) * 1000)

                grant = fetch_grant(vox, fetch_id)
                assert grant is not None
                e2e = []
                with (
                    PayingClient(vox, BUYER, ledger=root / "buyer.db") as payer,
                    Buyer(vox, BUYER, paid_ask(payer)) as buyer,
                ):
                    for _ in range(args.rounds):
                        for object_id in ids:
                            t = time.perf_counter()
                            buyer.fetch_object(fetch_id, grant, object_id)
                            e2e.append((time.perf_counter() - t) * 1000)

                    steps = {k: statistics.median(v) * 1000 for k, v in buyer.timings.items()}

                def signed(count: int) -> list[bytes]:
                    """Requests signed now (a node refuses one signed over 300 s ago)."""
                    now = int(time.time())
                    return [
                        sign_access_request(BUYER, rate_grant, ids[i % len(ids)], new_nonce(), now)
                        for i in range(count)
                    ]

                target = PRIVACY_KEYS[0].public_key.address
                payers = [
                    PayingClient(vox, BUYER, ledger=root / f"rate{i}.db")
                    for i in range(args.streams)
                ]
                try:
                    # Each client opens its channel first, one at a time (one account's txs)
                    for payer, body in zip(payers, signed(args.streams), strict=True):
                        node_rate([payer], target, [body])
                    burst = node_rate(payers, target, signed(BURST))
                    time.sleep(3)  # the backlog drains into blocks
                    requests = signed(args.requests)
                    pids = (privacy[0].process.pid, node.process.pid, os.getpid())
                    cpu_before = [cpu_seconds(pid) for pid in pids]
                    before = privacy[0].status()
                    rate = node_rate(payers, target, requests)
                    after = privacy[0].status()
                    cpu_ms = [
                        (cpu_seconds(pid) - was) * 1000 / len(requests)
                        for pid, was in zip(pids, cpu_before, strict=True)
                    ]
                    drained = drain_seconds(privacy[0])
                    to_chain = len(requests) / (len(requests) / rate + drained)
                finally:
                    for payer in payers:
                        payer.close()
        finally:
            for p in privacy:
                p.stop()
            for s in storage:
                s.stop()
            node.stop()
    print(f"{args.objects} objects of {OBJECT_SIZE} bytes, grants of 2 of 3 nodes")
    print(f"  load average (1 min): {load_at_start:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    print(f"  library reencrypt (this process): {base:.0f}/s")
    print(f"  one node, paid requests from {args.streams} clients at once: burst {burst:.0f}/s, ")
    print(f"    sustained {rate:.0f}/s (no faster than its Record txs, several a block, land)")
    txs = after["record_txs"] - before["record_txs"]
    recorded = after["recorded"] - before["recorded"]
    print(
        f"    its records in that window: {recorded} in {txs} consent/Record txs, "
        f"{after['record_txs_resent'] - before['record_txs_resent']} resent, "
        f"{after['record_resyncs'] - before['record_resyncs']} resyncs, "
        f"{after['records_dropped']} dropped in all; queued at the end "
        f"{after['records_queued']}, in flight {after['record_txs_in_flight']}"
    )
    print(
        f"    to the last record landing: {to_chain:.0f}/s (the last one landed {drained:.2f} s "
        "after the last answer)"
    )
    print(
        f"    CPU per answer in that window: node {cpu_ms[0]:.2f} ms, chain node "
        f"{cpu_ms[1]:.2f} ms, the paying clients {cpu_ms[2]:.2f} ms"
    )
    if after["last_error"]:
        print(f"    its last error: {after['last_error'][:300]}")
    print(f"  proven grant read p50: {statistics.median(checks):.1f} ms")
    print(f"  buyer end to end per object p50: {statistics.median(e2e):.1f} ms ({len(e2e)} runs)")
    print("    " + ", ".join(f"{k} {v:.1f} ms" for k, v in steps.items()))
    print(
        f"reencrypt_per_s={rate:.0f} grant_check_ms_p50={statistics.median(checks):.1f} "
        f"end_to_end_object_ms_p50={statistics.median(e2e):.1f} "
        f"baseline_reencrypt_per_s={base:.0f} burst_reencrypt_per_s={burst:.0f}"
    )


if __name__ == "__main__":
    main()
