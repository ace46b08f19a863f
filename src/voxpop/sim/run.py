"""Run a simulation: a world in a scratch directory, its monthly rows, the CSV (and plots)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voxpop.sim.params import SimParams
from voxpop.sim.report import MonthRow, write_csv
from voxpop.sim.world import World

CSV_NAME = "months.csv"


def scratch_dir() -> str | None:
    """Where the chain's store goes: memory (/dev/shm) when the machine has it, since the state
    is thrown away after the run and a disk's fsync per block would dominate; else the default
    temp dir."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


@dataclass(frozen=True, slots=True)
class RunResult:
    rows: list[MonthRow]
    blocks: int
    wall_seconds: float
    # The chain's state root after the last block: the same inputs must give the same hash
    app_hash: bytes = b""


def simulate(
    params: SimParams,
    *,
    check_every_block: bool = False,
    on_block: Callable[[World], None] | None = None,
) -> RunResult:
    """Run the world of `params` on a chain in a temp dir; its rows.

    With `check_every_block`, supply is checked against genesis + issued - burned and against the
    sum of every balance after each block (SimInvariantError); otherwise at each month's end.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="voxpop-sim-", dir=scratch_dir()) as tmp:
        world = World.create(params, Path(tmp) / "state")
        try:

            def check(w: World) -> None:
                if check_every_block:
                    w.chain.check_supply(full=True)
                if on_block is not None:
                    on_block(w)

            rows = world.run(check)
            world.chain.check_supply(full=True)
            blocks = world.chain.height
            app_hash = world.chain.app.last_app_hash
        finally:
            world.chain.close()
    return RunResult(rows, blocks, time.perf_counter() - started, app_hash)


def run_to_dir(params: SimParams, out: Path, *, plots: bool = True) -> RunResult:
    """Simulate and write `out`/months.csv (and the plots when asked and matplotlib is there)."""
    out.mkdir(parents=True, exist_ok=True)
    result = simulate(params)
    write_csv(result.rows, out / CSV_NAME)
    if plots:
        from voxpop.sim.plots import write_plots

        write_plots(result.rows, out)
    return result
