"""The tx-path fuzz campaign (issue 6): structure-aware CBOR and mutated signed txs through decode,
check_tx, prepare/process_proposal, finalize_block and commit on a real app, in several processes.

    python bench/fuzz.py [--inputs N] [--workers W] [--seed S] [--seconds T] [--findings PATH]

Generators, oracle and the per-worker loop are in tests/support/fuzzing.py (shared with the CI
version, tests/chain/test_fuzz_campaign.py). Each worker is watched: one input that decodes for
longer than --timeout seconds, or that kills its process, is recorded with its bytes, and a fresh
worker carries on. Prints findings (the smallest input of each, in hex), then as its last line:

    inputs=<n> uncaught=<n> accepted_invalid=<n> max_us_per_byte=<n>

and exits non-zero if uncaught or accepted_invalid is not 0, a model mismatch was found, or
max_us_per_byte exceeds 5.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import sys
import time
from multiprocessing import shared_memory
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.fuzzing import (
    ROUTES,
    SLOT_HEADER,
    Campaign,
    Finding,
    SharedProgress,
    Stats,
    WorkerConfig,
    chaos_coverage,
    summary_line,
)
from voxpop.chain.tx import FORMAT_MAX_TX_BYTES

MAX_US_PER_BYTE = 5.0
SLOT_BYTES = SLOT_HEADER.size + FORMAT_MAX_TX_BYTES + 1024
# A worker that bombs out repeatedly on deep shared-reference bombs stops making them, so one
# known problem cannot eat the whole run (reported as such)
MAX_TIMEOUTS_WITH_DEEP_BOMBS = 10


def _worker(cfg: WorkerConfig, index: int, shm_name: str, out: Any) -> None:
    shm = shared_memory.SharedMemory(name=shm_name)
    campaign = Campaign(cfg, SharedProgress(shm.buf))
    try:
        campaign.run(report=lambda delta: out.put((index, delta.to_json())))
    finally:
        campaign.close()
        del campaign
        shm.close()


class Slot:
    """One worker process and its progress buffer."""

    def __init__(self, index: int, shm: shared_memory.SharedMemory) -> None:
        self.index = index
        self.shm = shm
        self.proc: Any = None
        self.budget = 0
        self.done = 0
        self.restarts = 0
        self.finished = False

    @property
    def buf(self) -> memoryview:
        buf = self.shm.buf
        assert buf is not None
        return buf

    def current(self) -> tuple[int, int, bytes]:
        """(inputs begun, when the current one began in monotonic ns or 0, its bytes)."""
        count, started, size = SLOT_HEADER.unpack_from(self.buf, 0)
        n = min(size, SLOT_BYTES - SLOT_HEADER.size)
        return count, started, bytes(self.buf[SLOT_HEADER.size : SLOT_HEADER.size + n])


def run_campaign(
    inputs: int,
    workers: int,
    seed: int,
    seconds: float = 0.0,
    timeout: float = 5.0,
    batch: int = 100,
    log: Any = sys.stderr,
) -> Stats:
    ctx = mp.get_context("fork")
    out: Any = ctx.Queue()
    total = Stats()
    deadline = time.monotonic() + seconds if seconds else 0.0
    slots = []
    deep_bombs = True
    for i in range(workers):
        slot = Slot(i, shared_memory.SharedMemory(create=True, size=SLOT_BYTES))
        slot.budget = inputs // workers + (1 if i < inputs % workers else 0)
        slots.append(slot)

    def start(slot: Slot) -> None:
        SLOT_HEADER.pack_into(slot.buf, 0, 0, 0, 0)
        cfg = WorkerConfig(
            seed=seed * 1_000_003 + slot.index * 1009 + slot.restarts,
            inputs=slot.budget - slot.done,
            batch=batch,
            deadline=deadline,
            deep_bombs=deep_bombs,
        )
        args = (cfg, slot.index, slot.shm.name, out)
        slot.proc = ctx.Process(target=_worker, args=args, daemon=True)
        slot.proc.start()

    for slot in slots:
        start(slot)
    t0 = last_log = time.monotonic()
    try:
        while not all(s.finished for s in slots):
            try:
                index, payload = out.get(timeout=0.25)
                delta = Stats.from_json(payload)
                total.merge(delta)
                slots[index].done += delta.inputs
            except queue.Empty:
                pass
            now_ns = time.monotonic_ns()
            for slot in slots:
                if slot.finished:
                    continue
                proc = slot.proc
                _count, started, data = slot.current()
                hung = started and (now_ns - started) / 1e9 > timeout
                if proc.is_alive() and not hung:
                    continue
                if not proc.is_alive() and proc.exitcode == 0:
                    slot.finished = True
                    continue
                # A hang or a crash: record the input, start a fresh worker for the rest
                if hung:
                    proc.kill()
                    elapsed_us = (now_ns - started) / 1000
                    us = elapsed_us / max(len(data), 64)
                    total.timeouts += 1
                    total.max_us_per_byte = max(total.max_us_per_byte, us)
                    where = "decode_tx" if data else "a block step"
                    detail = f"over {timeout:.0f} s (at least {us:.0f} us/byte)"
                    total.add_finding(Finding("timeout", where, detail, data.hex(), len(data)))
                else:
                    total.crashes += 1
                    total.uncaught += 1
                    detail = f"worker died with exit code {proc.exitcode}"
                    total.add_finding(Finding("uncaught", "crash", detail, data.hex(), len(data)))
                proc.join()
                slot.done = min(slot.budget, slot.done + 1)
                total.inputs += 1 if data else 0
                slot.restarts += 1
                if total.timeouts >= MAX_TIMEOUTS_WITH_DEEP_BOMBS and deep_bombs:
                    deep_bombs = False
                    print("fuzz: too many timeouts; deep bombs off from now on", file=log)
                if slot.done >= slot.budget or (deadline and time.monotonic() > deadline):
                    slot.finished = True
                else:
                    start(slot)
            if time.monotonic() - last_log > 10:
                last_log = time.monotonic()
                rate = total.inputs / (last_log - t0)
                print(f"fuzz: {summary_line(total)} ({rate:.0f} inputs/s)", file=log, flush=True)
        # Drain what finished workers sent last
        while True:
            try:
                _, payload = out.get(timeout=0.5)
            except queue.Empty:
                break
            total.merge(Stats.from_json(payload))
    finally:
        for slot in slots:
            if slot.proc is not None and slot.proc.is_alive():
                slot.proc.kill()
            slot.shm.close()
            slot.shm.unlink()
    return total


def report(stats: Stats, findings_path: Path | None, elapsed: float, workers: int) -> int:
    print(f"workers={workers} seconds={elapsed:.1f} inputs_per_s={stats.inputs / elapsed:.0f}")
    print(f"blocks={stats.blocks} timeouts={stats.timeouts} crashes={stats.crashes}")
    print(f"mismatches={stats.mismatches} (valid txs rejected, or failed at another stage)")
    print(f"max_us_per_byte measured on an input of {stats.max_us_input_size} bytes")
    print("inputs by kind: " + _table(stats.by_kind))
    print("accepted at check_tx by kind: " + _table(stats.accepted_by_kind))
    outcomes: dict[str, int] = {}
    for key, n in stats.verdicts.items():
        step, outcome, _ = key.split(":", 2)
        outcomes[f"{step}:{outcome}"] = outcomes.get(f"{step}:{outcome}", 0) + n
    print("model verdicts on judged txs: " + _table(outcomes))
    missing, never_ok = chaos_coverage(stats)
    in_blocks = len(ROUTES) - len(missing)
    print(
        f"chaos message types: {in_blocks} of {len(ROUTES)} routed in blocks, "
        f"{len(ROUTES) - len(never_ok)} succeeded at least once"
    )
    print("chaos types never in a block: " + (" ".join(missing) or "none"))
    print("chaos types never succeeded: " + (" ".join(never_ok) or "none"))
    for f in sorted(stats.findings.values(), key=lambda f: (f.kind, f.where, f.size)):
        shown = f.data_hex if len(f.data_hex) <= 600 else f.data_hex[:600] + "..."
        print(f"FINDING {f.kind} in {f.where}: {f.detail} ({f.size} bytes) hex={shown}")
    if findings_path is not None:
        findings_path.write_text(stats.to_json())
        print(f"findings written to {findings_path}")
    print(summary_line(stats))
    failed = (
        stats.uncaught
        or stats.accepted_invalid
        or stats.mismatches
        or stats.max_us_per_byte > MAX_US_PER_BYTE
    )
    return 1 if failed else 0


def _table(counts: dict[str, int]) -> str:
    return " ".join(f"{k}={n}" for k, n in sorted(counts.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=0.0, help="stop after this long")
    parser.add_argument("--timeout", type=float, default=5.0, help="per input, in seconds")
    parser.add_argument("--batch", type=int, default=100, help="inputs per block")
    parser.add_argument("--findings", type=Path, help="write every finding (full hex) as JSON")
    args = parser.parse_args()
    t0 = time.monotonic()
    stats = run_campaign(
        args.inputs, args.workers, args.seed, args.seconds, args.timeout, args.batch
    )
    return report(stats, args.findings, time.monotonic() - t0, args.workers)


if __name__ == "__main__":
    sys.exit(main())
