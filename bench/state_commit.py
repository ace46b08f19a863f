"""Benchmark: commit latency of the state store under a bank-transfer workload.

Builds a store of N accounts (keys b"bank/bal/" + 20-byte address, 8-byte values) in one
genesis commit, then commits blocks of 1,000 transfers (about 2,000 changed keys, random
existing accounts) with pruning active (keep_versions is small so it starts early). Between
blocks it waits --block-gap-ms, standing in for block execution; background pruning runs then.
It reports the commit latency (what the node waits for), the background pruning time per block,
and, for comparison, the latency when pruning runs inside the commit transaction.

It also measures the `sparse-merkle-tree` package (the library the issue asked us to consider)
on a smaller state, next to voxpop.store on that same state.

    python bench/state_commit.py [--accounts N] [--blocks B] [--baseline-accounts M]

Last line: commit_ms_1000tx=<median ms> accounts=<N>
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time

from voxpop.store import MerkleStore

BALANCE_PREFIX = b"bank/bal/"
TRANSFERS_PER_BLOCK = 1_000
GENESIS_BALANCE = (1_000_000).to_bytes(8, "big")


def make_accounts(rng: random.Random, count: int) -> list[bytes]:
    return [BALANCE_PREFIX + rng.randbytes(20) for _ in range(count)]


def make_block(rng: random.Random, accounts: list[bytes]) -> dict[bytes, bytes]:
    """The balance writes of 1,000 transfers between random existing accounts."""
    changes: dict[bytes, bytes] = {}
    for _ in range(TRANSFERS_PER_BLOCK):
        sender, recipient = rng.sample(accounts, 2)
        changes[sender] = rng.randrange(1 << 63).to_bytes(8, "big")
        changes[recipient] = rng.randrange(1 << 63).to_bytes(8, "big")
    return changes


def load_genesis(store: MerkleStore, accounts: list[bytes]) -> float:
    """Seconds to commit every account as version 1."""
    genesis = dict.fromkeys(accounts, GENESIS_BALANCE)
    start = time.perf_counter()
    store.commit(1, genesis)
    return time.perf_counter() - start


def run_blocks(
    store: MerkleStore,
    accounts: list[bytes],
    rng: random.Random,
    blocks: int,
    gap_s: float,
) -> tuple[list[float], list[float]]:
    """(commit ms, background pruning ms) per block, blocks spaced `gap_s` apart."""
    commit_ms: list[float] = []
    prune_ms: list[float] = []
    for _ in range(blocks):
        changes = make_block(rng, accounts)
        start = time.perf_counter()
        store.commit(store.version + 1, changes)
        committed = time.perf_counter()
        store.wait_for_pruning()
        pruned = time.perf_counter()
        commit_ms.append((committed - start) * 1000)
        prune_ms.append((pruned - committed) * 1000)
        time.sleep(max(0.0, gap_s - (pruned - committed)))
    return commit_ms, prune_ms


def bench_smt_library(accounts: list[bytes], blocks: list[dict[bytes, bytes]]) -> float:
    """Median ms for the sparse-merkle-tree package to apply a 1,000-transfer block. It has
    no batch update, so a block is 2,000 single-key updates (in memory, nothing persisted)."""
    from smt.tree import SparseMerkleTree, TreeMemoryStore

    # The package's default store is a shared mutable default argument: pass a fresh one.
    tree = SparseMerkleTree(TreeMemoryStore())
    for address in accounts:
        tree.update(address, GENESIS_BALANCE)
    timings = []
    for changes in blocks:
        start = time.perf_counter()
        for key, value in changes.items():
            tree.update(key, value)
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def bench_baseline(count: int, rng: random.Random) -> None:
    accounts = make_accounts(rng, count)
    blocks = [make_block(rng, accounts) for _ in range(5)]
    library_ms = bench_smt_library(accounts, blocks)
    with (
        tempfile.TemporaryDirectory(prefix="voxpop-bench-") as directory,
        MerkleStore(directory, prune_in_background=False) as store,
    ):
        load_genesis(store, accounts)
        timings = []
        for changes in blocks:
            start = time.perf_counter()
            store.commit(store.version + 1, changes)
            timings.append((time.perf_counter() - start) * 1000)
    ours_ms = statistics.median(timings)
    print(
        f"baseline: sparse-merkle-tree 0.3.0, {count:,} accounts, in memory: "
        f"{library_ms:.1f} ms per 1,000-transfer block"
    )
    print(
        f"          voxpop.store, same state and blocks, persisted and fsynced: "
        f"{ours_ms:.1f} ms ({library_ms / ours_ms:.1f}x faster)"
    )


def summary(label: str, timings: list[float]) -> str:
    return (
        f"{label}: median {statistics.median(timings):.1f} ms, "
        f"min {min(timings):.1f}, max {max(timings):.1f} over {len(timings)} blocks"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--blocks", type=int, default=30)
    parser.add_argument("--keep-versions", type=int, default=5)
    parser.add_argument("--block-gap-ms", type=float, default=300.0)
    parser.add_argument("--baseline-accounts", type=int, default=10_000)
    args = parser.parse_args()
    rng = random.Random(20240601)

    bench_baseline(args.baseline_accounts, rng)

    accounts = make_accounts(rng, args.accounts)
    keep = args.keep_versions
    with tempfile.TemporaryDirectory(prefix="voxpop-bench-") as directory:
        with MerkleStore(directory, keep_versions=keep) as store:
            load_s = load_genesis(store, accounts)
            print(f"genesis bulk load: {len(accounts):,} accounts in {load_s:.1f} s")
            commit_ms, prune_ms = run_blocks(
                store, accounts, rng, args.blocks, args.block_gap_ms / 1000
            )
        # Pruning starts once keep_versions blocks exist; the first blocks also warm caches.
        steady_commit = commit_ms[keep:] or commit_ms
        steady_prune = prune_ms[keep:] or prune_ms
        with MerkleStore(directory, keep_versions=keep, prune_in_background=False) as store:
            inline_ms, _ = run_blocks(store, accounts, rng, max(5, args.blocks // 3), 0.0)

    print(f"blocks of {TRANSFERS_PER_BLOCK:,} transfers over {len(accounts):,} accounts:")
    print("  " + summary("commit (background pruning)", steady_commit))
    print("  " + summary("background pruning, per block", steady_prune))
    print("  " + summary("commit with pruning inside it", inline_ms))
    print(f"commit_ms_1000tx={statistics.median(steady_commit):.1f} accounts={len(accounts)}")


if __name__ == "__main__":
    main()
