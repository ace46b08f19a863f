"""Committed transfers per second and submit-to-commit latency on a 4-validator CometBFT testnet.

Starts a local testnet (`voxpop.node.testnet`: four validators, each its CometBFT process and its
Python node process, on this machine's loopback, in a temp dir, on free ports) with many accounts
funded at genesis. Pre-signs transfers, then drives them for `--duration` seconds at an offered
`--rate` through the nodes' HTTP batch broadcast endpoint (`POST /v1/txs/batch`), spread over the
four nodes: each node gets `--streams` lanes, each lane owns its accounts (so every account's
sequence order is kept) and sends a batch every `--batch / lane rate` seconds.

Measured from block data: a tracker polls node0's CometBFT RPC, fetches every new block and notes
when each tx hash first appears in a committed block. Committed tx/s is the number of txs in blocks
observed in the measurement window (after `--warmup` s) divided by its length; the latency of a tx
is the time from the start of its batch's POST to the observation of the block that holds it, over
every tx submitted in the window (a tx never committed counts as infinitely late).

Then runs the solo benchmark (`bench/solo_throughput.run_solo`) in the same run as a baseline.
Prints, as its last line:

    testnet_tps=<committed tx/s> p50_latency_s=<s> p95_latency_s=<s> validators=4 solo_tps=<n>
    cpu_us_per_tx_per_validator=<n>

The CPU figure is portable across machines (unlike tx/s with four validators on one host): the
user + system CPU time of each validator's two processes (the Python node and its CometBFT child,
from /proc/<pid>/stat) over the measurement window, averaged over the validators, divided by the
txs committed in that window.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import tomli_w

sys.path.insert(0, str(Path(__file__).resolve().parent))

from solo_throughput import measure_sig_verify, run_solo, sign_transfers

from voxpop.chain.genesis import UVOX_PER_VOX, default_app_state
from voxpop.crypto.keys import PrivateKey
from voxpop.node.testnet import LocalNet, init_testnet, start_testnet, stop_testnet

VALIDATORS = 4
CODE_MEMPOOL_FULL = 140


def free_base_port(count: int) -> int:
    """A base port below the ephemeral range with base+10i .. base+10i+3 free for each node."""
    import random
    import socket

    def free(port: int) -> bool:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
        return True

    for _ in range(200):
        base = random.randrange(20000, 32000, 10)
        if all(free(base + 10 * i + k) for i in range(count) for k in range(4)):
            return base
    raise SystemExit("no free port range")


@dataclass
class Lane:
    """One sender: a node, its accounts' txs in sequence order, pre-encoded as JSON bodies."""

    node: int
    bodies: list[bytes]
    hashes: list[list[bytes]]
    sent: list[tuple[float, int]] = field(default_factory=list)  # (submit time, batch index)
    accepted: int = 0
    rejected: dict[int, int] = field(default_factory=dict)


def sign_lane_txs(
    keys: list[PrivateKey], per_key: int, chain_id: str, batch: int
) -> tuple[list[bytes], list[list[bytes]]]:
    raw = sign_transfers(keys, per_key, chain_id)
    bodies, hashes = [], []
    for i in range(0, len(raw), batch):
        chunk = raw[i : i + batch]
        bodies.append(json.dumps({"txs": [base64.b64encode(t).decode() for t in chunk]}).encode())
        hashes.append([hashlib.sha256(t).digest() for t in chunk])
    return bodies, hashes


class Tracker(threading.Thread):
    """Polls node0's CometBFT RPC; notes when each tx hash first appears in a committed block."""

    def __init__(self, rpc_url: str, from_height: int) -> None:
        super().__init__(daemon=True)
        self.rpc_url = rpc_url
        self.next_height = from_height
        self.committed_at: dict[bytes, float] = {}
        self.blocks: list[tuple[int, float, int]] = []  # (height, observed at, num txs)
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stop.is_set():
                try:
                    status = client.get(f"{self.rpc_url}/status").json()["result"]
                    latest = int(status["sync_info"]["latest_block_height"])
                    while self.next_height <= latest:
                        self._take(client, self.next_height)
                        self.next_height += 1
                except httpx.HTTPError:
                    pass
                self.stop.wait(0.05)

    def _take(self, client: httpx.Client, height: int) -> None:
        block = client.get(f"{self.rpc_url}/block", params={"height": height}).json()["result"]
        now = time.perf_counter()
        txs = block["block"]["data"].get("txs") or []
        for t in txs:
            self.committed_at.setdefault(hashlib.sha256(base64.b64decode(t)).digest(), now)
        self.blocks.append((height, now, len(txs)))


def drive(lane: Lane, url: str, interval: float, start: float, end: float) -> None:
    """Send the lane's batches on schedule (one every `interval` s) until `end` or exhaustion."""
    with httpx.Client(base_url=url, timeout=120) as client:
        for index, body in enumerate(lane.bodies):
            due = start + index * interval
            if due >= end:
                return
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent_at = time.perf_counter()
            try:
                reply = client.post(
                    "/v1/txs/batch", content=body, headers={"content-type": "application/json"}
                )
                results = reply.json()["results"]
            except (httpx.HTTPError, KeyError, ValueError):
                lane.rejected[-1] = lane.rejected.get(-1, 0) + len(lane.hashes[index])
                continue
            lane.sent.append((sent_at, index))
            for r in results:
                if r["code"] == 0:
                    lane.accepted += 1
                else:
                    lane.rejected[r["code"]] = lane.rejected.get(r["code"], 0) + 1


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.inf
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (from /proc/<pid>/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                continue
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by `pids` (those still alive)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def tune_cometbft(
    net: LocalNet, mempool_size: int, gossip_peers: int, index_events: str | None
) -> None:
    """Add the benchmark's CometBFT settings to each node's overrides.toml (and its
    `[cometbft] index_events` to config.toml, if given)."""
    import tomllib

    for node in net.nodes:
        if index_events is not None:
            config_path = node.node_home.config_toml
            config = tomllib.loads(config_path.read_text())
            names = [n.strip() for n in index_events.split(",") if n.strip()]
            config.setdefault("cometbft", {})["index_events"] = names
            config_path.write_text(tomli_w.dumps(config))
        path = node.node_home.cometbft_dir / "overrides.toml"
        overrides = tomllib.loads(path.read_text()) if path.exists() else {}
        overrides.setdefault("mempool", {}).update(
            size=mempool_size, cache_size=4 * mempool_size, max_txs_bytes=1 << 30
        )
        if gossip_peers:
            overrides["mempool"]["experimental_max_gossip_connections_to_persistent_peers"] = (
                gossip_peers
            )
        path.write_text(tomli_w.dumps(overrides))


def run_testnet(args: argparse.Namespace) -> tuple[float, float, float, float]:
    lanes_total = VALIDATORS * args.streams
    txs_needed = int(args.rate * args.duration * 1.05) + args.batch * lanes_total
    per_key = max(1, math.ceil(txs_needed / args.accounts))
    keys = [PrivateKey(os.urandom(32)) for _ in range(args.accounts)]
    workdir = Path(tempfile.mkdtemp(prefix="voxpop-testnet-bench-"))
    net = init_testnet(
        VALIDATORS,
        workdir / "net",
        chain_id="voxpop-bench",
        app_state=default_app_state([(k.public_key.address, 1_000 * UVOX_PER_VOX) for k in keys]),
        base_port=free_base_port(VALIDATORS),
        timeout_commit_ms=args.timeout_commit_ms,
        log_level="error",
    )
    tune_cometbft(net, args.mempool_size, args.gossip_peers, args.index_events)
    print(
        f"signing {per_key * len(keys)} transfers from {len(keys)} accounts "
        f"for {lanes_total} lanes...",
        flush=True,
    )
    lanes = []
    for lane_index in range(lanes_total):
        lane_keys = keys[lane_index::lanes_total]
        bodies, hashes = sign_lane_txs(lane_keys, per_key, net.chain_id, args.batch)
        lanes.append(Lane(node=lane_index % VALIDATORS, bodies=bodies, hashes=hashes))
    try:
        start_testnet(workdir / "net")
        rpc0 = net.nodes[0].rpc_url
        deadline = time.monotonic() + 120
        while True:
            try:
                st = httpx.get(f"{rpc0}/status", timeout=2).json()["result"]["sync_info"]
                api_ok = all(
                    httpx.get(f"{n.api_url}/v1/status", timeout=5).status_code == 200
                    for n in net.nodes
                )
                if int(st["latest_block_height"]) >= 2 and api_ok:
                    break
            except (httpx.HTTPError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"testnet did not start; see {workdir}/net/node*/node.log")
            time.sleep(0.2)
        validators = [process_tree(int((Path(n.home) / "node.pid").read_text())) for n in net.nodes]
        tracker = Tracker(rpc0, int(st["latest_block_height"]) + 1)
        tracker.start()
        interval = args.batch / (args.rate / lanes_total)
        start = time.perf_counter() + 0.5
        end = start + args.duration
        threads = [
            threading.Thread(
                target=drive,
                args=(
                    lane,
                    net.nodes[lane.node].api_url,
                    interval,
                    start + i * interval / len(lanes),
                    end,
                ),
                daemon=True,
            )
            for i, lane in enumerate(lanes)
        ]
        print(f"driving load for {args.duration:.0f} s...", flush=True)
        for t in threads:
            t.start()
        time.sleep(max(0.0, start + args.warmup - time.perf_counter()))
        cpu_start = [cpu_seconds(pids) for pids in validators]
        app_start = [cpu_seconds(pids[:1]) for pids in validators]
        time.sleep(max(0.0, end - time.perf_counter()))
        cpu_used = [cpu_seconds(pids) - c for pids, c in zip(validators, cpu_start, strict=True)]
        app_used = [cpu_seconds(p[:1]) - c for p, c in zip(validators, app_start, strict=True)]
        for t in threads:
            t.join()
        submitted_until = time.perf_counter()
        window_start = start + args.warmup
        # let what was submitted in the window commit (bounded)
        wanted = [
            (sent_at, h)
            for lane in lanes
            for sent_at, index in lane.sent
            if window_start <= sent_at < end
            for h in lane.hashes[index]
        ]
        drain_deadline = time.perf_counter() + args.drain
        while time.perf_counter() < drain_deadline:
            if all(h in tracker.committed_at for _, h in wanted[-2000:]):
                break
            time.sleep(0.2)
        tracker.stop.set()
        tracker.join()
    finally:
        stop_testnet(workdir / "net")

    accepted = sum(lane.accepted for lane in lanes)
    rejected: dict[int, int] = {}
    for lane in lanes:
        for code, n in lane.rejected.items():
            rejected[code] = rejected.get(code, 0) + n
    in_window = [n for _, at, n in tracker.blocks if window_start <= at < end]
    window = end - window_start
    tps = sum(in_window) / window
    cpu_us = sum(cpu_used) / len(cpu_used) * 1e6 / max(sum(in_window), 1)
    latencies = sorted(tracker.committed_at.get(h, math.inf) - sent_at for sent_at, h in wanted)
    committed_of_wanted = sum(1 for x in latencies if x != math.inf)
    heights = [h for h, at, _ in tracker.blocks if window_start <= at < end]
    print(
        f"offered {args.rate} tx/s for {args.duration:.0f} s ({lanes_total} lanes, batches of "
        f"{args.batch}); submitting took {submitted_until - start:.1f} s; accepted {accepted}, "
        f"rejected {rejected or 0}"
    )
    print(
        f"window {window:.1f} s: {sum(in_window)} txs in {len(in_window)} blocks "
        f"(heights {heights[0] if heights else '-'}..{heights[-1] if heights else '-'}), "
        f"max {max(in_window, default=0)} txs/block; "
        f"{committed_of_wanted}/{len(wanted)} txs submitted in the window committed"
    )
    print(
        "validator CPU in the window (s, node + CometBFT): "
        + " ".join(f"{a:.1f}+{c - a:.1f}" for a, c in zip(app_used, cpu_used, strict=True))
        + f"; load average {os.getloadavg()[0]:.2f}"
    )
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"kept {workdir}")
    return tps, percentile(latencies, 0.50), percentile(latencies, 0.95), cpu_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=40.0, help="seconds of offered load")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds not measured")
    parser.add_argument("--drain", type=float, default=30.0, help="max seconds to wait after")
    parser.add_argument("--rate", type=float, default=1200.0, help="offered tx/s, all nodes")
    parser.add_argument("--accounts", type=int, default=4_000)
    parser.add_argument("--streams", type=int, default=4, help="lanes per node")
    parser.add_argument("--batch", type=int, default=100, help="txs per POST")
    parser.add_argument("--timeout-commit-ms", type=int, default=500)
    parser.add_argument("--mempool-size", type=int, default=50_000)
    parser.add_argument(
        "--gossip-peers", type=int, default=0, help="peers each node gossips txs to (0: all)"
    )
    parser.add_argument(
        "--index-events",
        default=None,
        help="event attributes CometBFT indexes, comma-separated ('*': all; default: the node's)",
    )
    parser.add_argument("--solo-txs", type=int, default=20_000, help="0: skip the solo run")
    parser.add_argument("--keep", action="store_true", help="keep the testnet dir (logs)")
    args = parser.parse_args()

    sig_per_s = measure_sig_verify()
    print(f"sig_verify_per_s={sig_per_s}", flush=True)
    tps, p50, p95, cpu_us = run_testnet(args)
    solo = run_solo(args.solo_txs) if args.solo_txs else 0.0
    print(
        f"testnet_tps={tps:.0f} p50_latency_s={p50:.2f} p95_latency_s={p95:.2f} "
        f"validators={VALIDATORS} solo_tps={solo:.0f} cpu_us_per_tx_per_validator={cpu_us:.0f}"
    )


if __name__ == "__main__":
    main()
