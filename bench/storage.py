"""Benchmark: put and get of a 64 MiB object through real storage node processes (k=4 of n=6),
against plain XChaCha20 (libsodium secretstream, the cipher put uses) of the same bytes in the
same run.

Starts a real solo node and six real storage nodes (`voxpop storage start`), then, with the
owner's DataVault (client/storage, what `voxpop data put|get` runs):

    put   encrypt, erasure-code and hash the Merkle roots (overlapped, stripe by stripe) ->
          choose providers (proven list) -> OpenDeal -> upload the 6 shards and headers in
          parallel; the deal tx's block wait and the nodes' Confirms are timed apart and not
          counted
    get   proven deal and providers -> header -> the 4 data shards (a straggler gets a hedge),
          each hashed into its root as it arrives and checked against it, decrypted as they
          arrive (decode_decrypt: what is left after the last byte)
    proof_verify_per_s   Merkle audit paths checked per second (what a validator does for each
                         challenge answer in a storage/Prove)
    onchain_bytes_per_gib_month   tx bytes the chain carries per GiB of owner data per month:
                         the deal (OpenDeal + Confirms) over its term, plus the providers'
                         proofs (one Prove tx per provider per epoch, whatever it holds), shared
                         by the GiB each provider holds: by default the module README's case, a
                         day per epoch and a device holding 1.5 GiB of shards (docs/benchmarks.md)

    python bench/storage.py [--size-mib 64] [--runs 3] [--provider-gib 1.5] [--epoch-seconds N]
                             [--poll-interval S] [--hedge N]

Last line: put_mb_s=<n> get_mb_s=<n> baseline_encrypt_mb_s=<n> proof_verify_per_s=<n>
onchain_bytes_per_gib_month=<n>     (MB = 10^6 bytes of plaintext; medians over the runs)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.vault import OWNER, STORAGE_KEYS, STORAGE_PARAMS, init_chain, start_storage_nodes
from voxpop.chain.modules.storage.messages import MsgConfirm, MsgProve
from voxpop.chain.modules.storage.state import StorageParams
from voxpop.client import VoxClient
from voxpop.client.storage import DataVault, PutPolicy
from voxpop.client.storage.chainview import fetch_deal
from voxpop.client.testing import LocalNode
from voxpop.client.tx import build_tx, sign_tx
from voxpop.crypto import vault as cipher
from voxpop.crypto.erasure import encode
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.merkle import MerkleTree, verify_path
from voxpop.storage.config import DEFAULT_CLAIM_INTERVAL, DEFAULT_POLL_INTERVAL

MB = 1_000_000
GIB = 1 << 30
MONTH_SECONDS = 30 * 86_400
# encrypt_encode includes the roots; commit and confirm are timed apart
PUT_STEPS = ("keys", "encrypt_encode", "choose", "upload")


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a process so far (/proc/PID/stat fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds spent by this process (the client), the storage nodes and the chain node."""

    def __init__(self, chain_pid: int, node_pids: list[int]) -> None:
        self.chain_pid, self.node_pids = chain_pid, node_pids
        self.totals = {"client": 0.0, "storage nodes": 0.0, "chain node": 0.0}

    def sample(self) -> dict[str, float]:
        return {
            "client": time.process_time(),
            "storage nodes": sum(cpu_seconds(p) for p in self.node_pids),
            "chain node": cpu_seconds(self.chain_pid),
        }

    def add(self, before: dict[str, float], after: dict[str, float]) -> None:
        for name in self.totals:
            self.totals[name] += after[name] - before[name]


def signed_size(key: PrivateKey, msg: object) -> int:
    """Bytes of a signed tx carrying `msg` (what a block holds for it)."""
    raw = msg.raw() if hasattr(msg, "raw") else msg  # type: ignore[attr-defined]
    body = build_tx(
        chain_id="voxpop-bench",
        pub_key=key.public_key.raw,
        sequence=1_000,
        msgs=[raw],
        fee=100_000,
        gas_limit=1_000_000,
    )
    return len(sign_tx(body, key))


def baseline_mb_s(data: bytes, runs: int) -> float:
    key = cipher.new_data_key()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        cipher.encrypt_object(key, data)
        times.append(time.perf_counter() - t)
    return len(data) / MB / statistics.median(times)


def proofs_per_s(shard: bytes, leaf_size: int, count: int = 2_000) -> tuple[float, list]:  # type: ignore[type-arg]
    tree = MerkleTree(shard, leaf_size)
    rng = random.Random(7)
    asked = [rng.randrange(tree.leaf_count) for _ in range(count)]
    answers = [(i, tree.leaf(i), tree.path(i)) for i in asked]
    t = time.perf_counter()
    for i, leaf, path in answers:
        assert verify_path(tree.root, leaf, i, tree.leaf_count, path)
    return count / (time.perf_counter() - t), answers


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=64)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--provider-gib",
        type=float,
        default=1.5,
        help="GiB of shards each provider holds (1.5: a device keeping 1 GiB of owner data)",
    )
    ap.add_argument(
        "--epoch-seconds", type=int, default=86_400, help="epoch length (the module README's day)"
    )
    ap.add_argument(
        "--poll-interval",
        type=float,
        default=DEFAULT_POLL_INTERVAL,
        help="the storage nodes' seconds between looks at the chain (default: a node's own)",
    )
    ap.add_argument(
        "--hedge", type=int, default=None, help="downloads beyond k (default: the client's)"
    )
    args = ap.parse_args()
    size = args.size_mib << 20
    k, n = 4, 6
    data = os.urandom(size)
    keys = STORAGE_KEYS[:n]
    with tempfile.TemporaryDirectory(prefix="voxpop-bench-storage-") as tmp:
        root = Path(tmp)
        # Long epochs: no challenge traffic during the timed runs (a quiet network)
        params = dict(STORAGE_PARAMS, epoch_blocks=1_000, proof_deadline_blocks=500)
        init_chain(root / "chain", [OWNER, *keys], params, block_ms=100, empty_blocks=False)
        node = LocalNode.start(root / "chain")
        nodes = []
        try:
            # The nodes look at the chain as often as a deployed node does (the tests' 5 looks
            # a second each are CPU the six nodes would take from the put on these 2 cores)
            nodes = start_storage_nodes(
                root,
                node.url,
                keys,
                capacity="8GiB",
                poll_interval=args.poll_interval,
                claim_interval=DEFAULT_CLAIM_INTERVAL,
            )
            with VoxClient(node.url) as vox, DataVault(vox, OWNER, root / "owner") as dv:
                if args.hedge is not None:
                    dv.hedge = args.hedge
                dv.put(b"warm-up", "warm-up", PutPolicy(k=k, n=n, epochs=10))
                base, puts, gets, put_steps, get_steps = [], [], [], [], []
                result = None
                put_cpu = CpuMeter(node.process.pid, [s.process.pid for s in nodes])
                get_cpu = CpuMeter(node.process.pid, [s.process.pid for s in nodes])
                for _ in range(args.runs):
                    base.append(baseline_mb_s(data, 1))
                    before = put_cpu.sample()
                    result = dv.put(data, "bench.bin", PutPolicy(k=k, n=n, epochs=10))
                    put_cpu.add(before, put_cpu.sample())
                    assert result.confirmed and not result.failed, result.failed
                    steps = result.timings
                    puts.append(sum(steps[s] for s in PUT_STEPS))
                    put_steps.append(steps)
                    laps: dict[str, float] = {}
                    before = get_cpu.sample()
                    t = time.perf_counter()
                    back = dv.get(result.object_id, timings=laps)
                    gets.append(time.perf_counter() - t)
                    get_cpu.add(before, get_cpu.sample())
                    get_steps.append(laps)
                    assert back == data
                assert result is not None
                deal = fetch_deal(vox, result.object_id)
                assert deal is not None
                open_tx = vox.tx(result.tx_hash).tx
        finally:
            for s in nodes:
                s.stop()
            node.stop()
    put_mb_s = size / MB / statistics.median(puts)
    get_mb_s = size / MB / statistics.median(gets)
    base_mb_s = statistics.median(base)

    def med(steps: list[dict[str, float]], name: str) -> float:
        return statistics.median(s.get(name, 0.0) for s in steps)

    print(f"object {args.size_mib} MiB, k={k} n={n}, {args.runs} runs (medians)")
    print(f"  baseline secretstream encrypt: {base_mb_s:.1f} MB/s")
    print(
        f"  put {statistics.median(puts):.3f} s = {put_mb_s:.1f} MB/s "
        f"({100 * put_mb_s / base_mb_s:.0f} % of the baseline; goal 20 %)"
    )
    for s in (*PUT_STEPS, "commit", "confirm"):
        extra = "" if s in PUT_STEPS else "  (not counted)"
        print(f"    {s:14} {med(put_steps, s):.3f} s{extra}")
    print(
        f"  get {statistics.median(gets):.3f} s = {get_mb_s:.1f} MB/s "
        f"({100 * get_mb_s / base_mb_s:.0f} % of the baseline; goal 30 %)"
    )
    for s in ("chain", "header", "download", "decode_decrypt"):
        print(f"    {s:14} {med(get_steps, s):.3f} s")
    for what, meter in (("put", put_cpu), ("get", get_cpu)):
        cpu = ", ".join(f"{name} {v / args.runs:.2f} s" for name, v in meter.totals.items())
        print(f"  CPU per {what} (the whole call: a put's commit and confirm too): {cpu}")

    # Proofs: verify rate, and the size of one epoch's Prove tx of a provider
    shard = encode(cipher.encrypt_object(cipher.new_data_key(), data), k, n)[0]
    leaf_size = STORAGE_PARAMS["leaf_size"]
    verify_rate, answers = proofs_per_s(shard, leaf_size)
    defaults = StorageParams()
    provider = keys[0]
    proofs = tuple(
        (deal.object_id, 0, i, leaf, tuple(path))
        for i, leaf, path in answers[: defaults.challenges_per_epoch]
    )
    prove_bytes = signed_size(provider, MsgProve(provider.public_key.address, 1, proofs))
    confirm_bytes = signed_size(
        provider, MsgConfirm(provider.public_key.address, ((deal.object_id, 0),))
    )
    deal_bytes = len(open_tx) + n * confirm_bytes  # one Confirm per node for one object
    epochs_per_month = MONTH_SECONDS / args.epoch_seconds
    # Per GiB of owner data: the deals of 1 GiB of such objects, over a one-month term ...
    deals_part = deal_bytes * GIB / size
    # ... and the share of the providers' proof txs: n/k GiB of shards, at provider_gib each
    proofs_part = prove_bytes * epochs_per_month * (n / k) / args.provider_gib
    onchain = deals_part + proofs_part
    print(
        f"  proof verify: {verify_rate:,.0f}/s (leaf {leaf_size} B, "
        f"{len(answers[0][2])}-step paths)"
    )
    print(
        f"  on chain: OpenDeal {len(open_tx)} B, Confirm {confirm_bytes} B, Prove "
        f"({defaults.challenges_per_epoch} challenges) {prove_bytes} B; "
        f"{epochs_per_month:,.0f} epochs/month ({args.epoch_seconds} s each); providers hold "
        f"{args.provider_gib:g} GiB of shards each"
    )
    print(f"    per GiB-month: deals {deals_part:,.0f} B + proofs {proofs_part:,.0f} B")
    print(
        f"put_mb_s={put_mb_s:.1f} get_mb_s={get_mb_s:.1f} baseline_encrypt_mb_s={base_mb_s:.1f} "
        f"proof_verify_per_s={verify_rate:.0f} onchain_bytes_per_gib_month={onchain:.0f}"
    )


if __name__ == "__main__":
    main()
