"""Benchmark: the SDK light client's two checks, on one core.

Headers: a chain of 4 equal validators (signed here with comet_testing, the encodings checked
against real CometBFT in tests/client/test_light.py), served as the node API's JSON; the light
client parses each signed header and validator set, recomputes the header and validator set
hashes and checks the signatures (more than 2/3 of the power: 3 of 4), one height after another
(sequential verification, the most work per header). Skipping verification across the whole
chain is timed too.
Proofs: state proofs of a store of N accounts, checked against the app hash as the client does
(voxpop.client.verify.verify_entry: decode and verify the Merkle path).

    python bench/light_client.py [--headers H] [--accounts N] [--proofs P]

Last line: headers_verified_per_s=<n> proofs_verified_per_s=<n>
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from typing import Any

from voxpop.client import _core as core
from voxpop.client.comet_testing import ChainMaker, signed_header_json, validators_json
from voxpop.client.light import LightClient, TrustOptions
from voxpop.client.verify import verify_entry
from voxpop.store import MerkleStore

START_NS = 1_800_000_000 * 10**9
BALANCE_PREFIX = b"bank/bal/"


def serve(answers: dict[str, bytes], flow: core.Flow[Any]) -> Any:
    """Drive a flow against pre-encoded answers (no network: the client's own work is timed)."""
    answer: Any = None
    try:
        while True:
            effect = flow.send(answer)
            if isinstance(effect, core.Sleep):
                answer = time.monotonic()
            else:
                answer = core.HttpResponse(200, answers[effect.path])
    except StopIteration as done:
        return done.value


def bench_headers(count: int) -> tuple[float, float]:
    chain = ChainMaker.create("voxpop-bench", 4, START_NS)
    for _ in range(count + 1):
        chain.next_block()
    answers: dict[str, bytes] = {}
    for h, block in chain.blocks.items():
        sh = {"signed_header": signed_header_json(block.signed_header)}
        answers[f"/v1/light/signed_header/{h}"] = json.dumps(sh).encode()
        vals = {"height": h, "validators": validators_json(block.validators)}
        answers[f"/v1/light/validators/{h}"] = json.dumps(vals).encode()

    def client() -> LightClient:
        return LightClient(
            trust_options=TrustOptions(1, chain.blocks[1].hash),
            clock=lambda: START_NS / 1e9 + count + 60,
            store_size=count + 2,
        )

    light = client()
    serve(answers, light.initialize_flow())
    start = time.perf_counter()
    for h in range(2, count + 2):
        serve(answers, light.verified_flow(h))
    sequential = (light.headers_verified - 1) / (time.perf_counter() - start)

    light = client()
    serve(answers, light.initialize_flow())
    start = time.perf_counter()
    serve(answers, light.verified_flow(count + 1))
    skip_s = time.perf_counter() - start
    print(
        f"sequential: {count:,} headers, {sequential:,.0f}/s; skipping 1 -> {count + 1:,} in "
        f"{skip_s * 1000:.1f} ms ({light.headers_verified - 1} header verified)"
    )
    return sequential, skip_s


def bench_proofs(accounts: int, proofs: int) -> float:
    rng = random.Random(7)
    keys = [BALANCE_PREFIX + rng.randbytes(20) for _ in range(accounts)]
    queries = [rng.choice(keys) for _ in range(proofs)]
    with (
        tempfile.TemporaryDirectory(prefix="voxpop-bench-") as directory,
        MerkleStore(directory) as store,
    ):
        root = store.commit(1, {key: rng.randbytes(8) for key in keys})
        answers = []
        for key in queries:
            value, proof = store.get_with_proof(key)
            assert value is not None
            answers.append((key, value, proof.encode()))
    start = time.perf_counter()
    for key, value, raw in answers:
        verify_entry(root, key, value, raw)
    rate = len(answers) / (time.perf_counter() - start)
    print(f"proofs: {len(answers):,} over {accounts:,} accounts, {rate:,.0f}/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--headers", type=int, default=1_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--proofs", type=int, default=20_000)
    args = parser.parse_args()
    headers_rate, _ = bench_headers(args.headers)
    proofs_rate = bench_proofs(args.accounts, args.proofs)
    print(f"headers_verified_per_s={headers_rate:.0f} proofs_verified_per_s={proofs_rate:.0f}")


if __name__ == "__main__":
    main()
