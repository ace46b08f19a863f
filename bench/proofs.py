"""Benchmark: Merkle proof generation and verification over a large state.

Builds a store of N accounts (keys b"bank/bal/" + 20-byte address, 8-byte values), then
times proofs for random keys, nine in ten present and one in ten absent: generation is
get_with_proof plus encoding, as a node answers a query; verification is decoding plus
verify_proof, as a light client checks one.

    python bench/proofs.py [--accounts N] [--proofs P]

Last line: proof_gen_per_s=<n> proof_verify_per_s=<n> accounts=<N>
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time

from voxpop.store import MerkleStore, Proof, verify_proof

BALANCE_PREFIX = b"bank/bal/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=20_000)
    args = parser.parse_args()
    rng = random.Random(7)
    accounts = [BALANCE_PREFIX + rng.randbytes(20) for _ in range(args.accounts)]
    queries = [
        rng.choice(accounts) if rng.random() < 0.9 else BALANCE_PREFIX + rng.randbytes(20)
        for _ in range(args.proofs)
    ]

    with (
        tempfile.TemporaryDirectory(prefix="voxpop-bench-") as directory,
        MerkleStore(directory) as store,
    ):
        start = time.perf_counter()
        root = store.commit(1, {key: rng.randbytes(8) for key in accounts})
        print(f"built {len(accounts):,} accounts in {time.perf_counter() - start:.1f} s")

        start = time.perf_counter()
        answers = []
        for key in queries:
            value, proof = store.get_with_proof(key)
            answers.append((key, value, proof.encode()))
        generation_s = time.perf_counter() - start

    start = time.perf_counter()
    verified = sum(verify_proof(root, key, value, Proof.decode(raw)) for key, value, raw in answers)
    verification_s = time.perf_counter() - start
    assert verified == len(answers), "a proof failed to verify"

    sizes = sorted(len(raw) for _, _, raw in answers)
    depths = sorted(len(Proof.decode(raw).siblings) for _, _, raw in answers)
    present = sum(value is not None for _, value, _ in answers)
    print(
        f"{len(answers):,} proofs ({present:,} present): median {depths[len(depths) // 2]} "
        f"siblings, {sizes[len(sizes) // 2]} bytes encoded (max {sizes[-1]})"
    )
    generation_rate = len(answers) / generation_s
    verification_rate = len(answers) / verification_s
    print(f"generation (get_with_proof + encode): {generation_rate:,.0f}/s")
    print(f"verification (decode + verify_proof): {verification_rate:,.0f}/s")
    print(
        f"proof_gen_per_s={generation_rate:.0f} proof_verify_per_s={verification_rate:.0f} "
        f"accounts={len(accounts)}"
    )


if __name__ == "__main__":
    main()
