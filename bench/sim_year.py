"""How fast the economics simulation runs: a simulated year (or part) on the real state machine.

Runs `voxpop.sim.simulate` (households, providers, storage nodes, validators, governance; every
on-chain action a signed tx through the real modules, one block per four simulated hours by
default), then, as a
baseline in the same process, empty blocks on the same kind of chain (what a block costs with no
txs: begin/end-block hooks, issuance, the store's commit).

The machine may be shared: the wall clock and the process's CPU time are both printed, with the
CPU cost per block and the year extrapolated from it. Prints on stderr the details and, as its last
line:

    sim_blocks_per_s=<n> households=<n> simulated_days=<n> wall_s=<s>

Goal (issue 19): a year of 10,000 households in under 10 minutes on this machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from voxpop.sim import make_params, simulate
from voxpop.sim.run import scratch_dir
from voxpop.sim.world import World

BASELINE_BLOCKS = 300
# Four hours of chain time a block: the monthly question needs days (grant epochs), weeks (storage
# epochs, claims) and months; six blocks a day still spread each day's work and leave a block
# between a proposal and its votes. Per-block costs (the Merkle update, commit) shrink 4x.
BLOCK_SECONDS = 14_400


def empty_blocks(households: int, block_seconds: int) -> tuple[float, float]:
    """(wall, cpu) seconds per empty block of a chain with the world's genesis."""
    params = make_params({"households": households, "days": 30, "block_seconds": block_seconds})
    with tempfile.TemporaryDirectory(prefix="voxpop-bench-", dir=scratch_dir()) as tmp:
        world = World.create(params, Path(tmp) / "state")
        try:
            world.chain.block([], 0)
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(BASELINE_BLOCKS):
                world.chain.block([], params.block_seconds)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        finally:
            world.chain.close()
    return wall / BASELINE_BLOCKS, cpu / BASELINE_BLOCKS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--block-seconds",
        type=int,
        default=BLOCK_SECONDS,
        help="chain time per simulated block (default: 4 hours; see docs/economics.md)",
    )
    args = parser.parse_args()
    params = make_params(
        {
            "households": args.households,
            "days": args.days,
            "seed": args.seed,
            "block_seconds": args.block_seconds,
            # A data buyer receives at most 1,024 grants (consent's list per grantee): a
            # network of this size has a buyer per 500 households
            "data_buyers": max(2, -(-args.households // 500)),
        }
        | ({"onboarding_days": args.days} if args.days < 30 else {})
    )
    cpu = time.process_time()
    month_blocks = params.month_days * params.blocks_per_day

    def progress(world: World) -> None:
        # A line a simulated month on stderr: a run cut short still leaves its measured part
        if world.chain.height % month_blocks == 0:
            print(
                f"progress: day={world.chain.height // params.blocks_per_day} "
                f"blocks={world.chain.height} cpu_s={time.process_time() - cpu:.1f}",
                file=sys.stderr,
                flush=True,
            )

    result = simulate(params, on_block=progress)
    cpu = time.process_time() - cpu
    base_wall, base_cpu = empty_blocks(args.households, args.block_seconds)
    blocks = result.blocks
    per_block_wall = result.wall_seconds / blocks
    per_block_cpu = cpu / blocks
    year_blocks = 365 * params.blocks_per_day
    last = result.rows[-1]
    err = sys.stderr
    print(f"blocks={blocks} wall_s={result.wall_seconds:.1f} cpu_s={cpu:.1f}", file=err)
    # What the chain computed: a faster version must end at the same state
    print(f"height={blocks} app_hash={result.app_hash.hex()}", file=err)
    print(
        f"per_block_ms: wall={per_block_wall * 1000:.2f} cpu={per_block_cpu * 1000:.2f} "
        f"(baseline, empty blocks: wall={base_wall * 1000:.2f} cpu={base_cpu * 1000:.2f})",
        file=err,
    )
    print(
        f"year_extrapolated_s: wall={per_block_wall * year_blocks:.0f} "
        f"cpu={per_block_cpu * year_blocks:.0f} (this run's cost per block, over a year; "
        f"block_seconds={params.block_seconds})",
        file=err,
    )
    print(
        f"last month: supply={last.supply} wallet_median={last.wallet_median} "
        f"households_bought={last.households_bought} idle_share={last.idle_share}",
        file=err,
    )
    print(
        f"sim_blocks_per_s={blocks / result.wall_seconds:.1f} households={args.households} "
        f"simulated_days={args.days} wall_s={result.wall_seconds:.1f}"
    )


if __name__ == "__main__":
    main()
