"""Join time by state sync versus by replay, on one chain, in one run.

Builds a chain under CometBFT as fast as one validator on this machine makes blocks: `--accounts`
funded at genesis, `--blocks` blocks (timeout_commit 0), transfers to new accounts sent along the
way, a snapshot every `--interval` blocks. The validator is then restarted at a network's pace
(`--join-block-ms`, one block a second) and two full nodes join the running chain at the same
moment: one by state sync (`voxpop node init --state-sync`'s setup, voxpop.node.testnet
.init_full_node), one by replaying every block from genesis (CometBFT's block sync). Each one's
time is from its start until it has caught up (CometBFT no longer `catching_up`, at or above the
height the validator had when both started). CometBFT's state sync discovery time is set to its
least, 5 s, and is part of the figure.

The validator is the only peer and its own witness (state sync asks for two RPC servers): this
measures speed, not trust (tests/consensus/test_state_sync.py checks the trust side).

Prints, as its last line:

    state_sync_s=<s> replay_s=<s> accounts=<n> blocks=<n> txs=<n>

The issue's run: `--blocks 20000 --accounts 100000` (the defaults; tens of minutes). CI never
runs this; `--blocks 300 --accounts 2000` is a quick check. Run it from a checkout nobody edits
meanwhile (e.g. `git archive HEAD` unpacked, with PYTHONPATH at its src/): the replaying node
runs the code as it is when it starts, and a chain built by other code has other app hashes.
"""

from __future__ import annotations

import argparse
import base64
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from testnet_throughput import free_base_port

from voxpop.chain.genesis import UVOX_PER_VOX, GenesisValidator, default_app_state
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.tx import encode_tx, make_body
from voxpop.crypto import Keyring
from voxpop.crypto.keys import PrivateKey
from voxpop.node.config import load_config
from voxpop.node.init import OPERATOR_SPARE, operator_address
from voxpop.node.testnet import (
    LocalNet,
    LocalNode,
    init_full_node,
    init_testnet,
    node_command,
    start_testnet,
    stop_testnet,
)

POWER = 10
GAS = 100_000
SENDERS = 8


# One client for every RPC call: a new one per call (httpx.get) costs more CPU than the call
_HTTP = httpx.Client(timeout=30)


def rpc(url: str, method: str, **params: Any) -> Any:
    return _HTTP.get(f"{url}/{method}", params=params).json()["result"]


def height(url: str) -> int:
    try:
        return int(rpc(url, "status")["sync_info"]["latest_block_height"])
    except (httpx.HTTPError, KeyError, ValueError):
        return 0


def caught_up(url: str, target: int) -> bool:
    try:
        sync = rpc(url, "status")["sync_info"]
    except (httpx.HTTPError, KeyError, ValueError):
        return False
    return int(sync["latest_block_height"]) >= target and not sync["catching_up"]


def build_network(dir: Path, accounts: int, interval: int) -> tuple[LocalNet, list[PrivateKey]]:
    senders = [PrivateKey(bytes([1 + i]) * 32) for i in range(SENDERS)]
    funded = [
        PrivateKey((10_000 + i).to_bytes(32, "big")).public_key.address for i in range(accounts)
    ]

    def app_state(validators: Sequence[GenesisValidator]) -> dict[str, Any]:
        operator = operator_address(Keyring(dir / "node0" / "keyring", "test"))
        self_bond = POWER * UVOX_PER_VOX
        return default_app_state(
            [(a, 1_000_000) for a in funded]
            + [(k.public_key.address, 10**15) for k in senders]
            + [(operator, self_bond + OPERATOR_SPARE)],
            validators=[(operator, validators[0].pub_key, self_bond)],
        )

    net = init_testnet(
        1, dir, app_state=app_state, base_port=free_base_port(1), timeout_commit_ms=0, power=POWER
    )
    config = load_config(net.nodes[0].node_home.config_toml)
    config.snapshots.interval = interval
    # Blocks come fast here: keep snapshots long enough for a joiner to fetch one it chose
    config.snapshots.keep = 5
    config.save(net.nodes[0].node_home.config_toml)
    return net, senders


def send_transfers(
    net: LocalNet, senders: list[PrivateKey], stop: threading.Event, pace: float
) -> None:
    """New accounts along the way: each sender pays a fresh address, one tx per block or so."""
    api = net.nodes[0].api_url
    sequences = dict.fromkeys(range(len(senders)), 0)
    n = 0
    with httpx.Client(base_url=api, timeout=30) as client:
        while not stop.is_set():
            i = n % len(senders)
            key = senders[i]
            to = PrivateKey((5_000_000 + n).to_bytes(32, "big")).public_key.address
            body = make_body(
                chain_id=net.chain_id,
                pub_key=key.public_key.raw,
                sequence=sequences[i],
                fee=AuthParams().min_fee(GAS),
                gas_limit=GAS,
                msgs=[("bank/Send", {"from": key.public_key.address, "to": to, "amount": 1})],
            )
            tx = encode_tx(body, key.sign(body.sign_bytes()))
            try:
                reply = client.post(
                    "/v1/txs", json={"tx": base64.b64encode(tx).decode(), "mode": "sync"}
                )
            except httpx.HTTPError:
                time.sleep(0.5)
                continue
            if reply.status_code in (200, 202) and reply.json().get("code") == 0:
                sequences[i] += 1
                n += 1
                stop.wait(pace)  # a steady trickle: block production, not the API, is measured
            else:
                time.sleep(0.05)


def count_txs(url: str, top: int) -> tuple[int, int]:
    """(txs in blocks 1..top, of which succeeded): each successful transfer made an account."""
    total = ok = 0
    hi = top
    while hi >= 1:
        metas = rpc(url, "blockchain", minHeight=max(1, hi - 19), maxHeight=hi)["block_metas"]
        for meta in metas:
            if int(meta["num_txs"]):
                total += int(meta["num_txs"])
                results = rpc(url, "block_results", height=meta["header"]["height"])
                ok += sum(1 for r in results["txs_results"] or () if int(r.get("code", 0)) == 0)
        hi -= 20
    return total, ok


def run_joiner(node: LocalNode) -> subprocess.Popen[bytes]:
    log = open(Path(node.home) / "node.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        node_command(node.node_home, serve_api=False),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--interval", type=int, default=1_000, help="snapshot interval")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument(
        "--join-block-ms", type=int, default=1000, help="timeout_commit while nodes join"
    )
    parser.add_argument("--tx-pace", type=float, default=0.1, help="seconds between transfers")
    args = parser.parse_args(argv)
    interval = min(args.interval, max(10, args.blocks // 2))

    root = Path(tempfile.mkdtemp(prefix="voxpop-statesync-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        net, senders = build_network(root / "net", args.accounts, interval)
        start_testnet(root / "net", serve_api=True)
        url = net.nodes[0].rpc_url
        t0 = time.monotonic()
        stop = threading.Event()
        load = threading.Thread(
            target=send_transfers, args=(net, senders, stop, args.tx_pace), daemon=True
        )
        load.start()
        last = 0
        while (h := height(url)) < args.blocks:
            if h - last >= 1_000:
                rate = h / (time.monotonic() - t0)
                print(f"built {h} blocks ({rate:.0f}/s)", file=sys.stderr, flush=True)
                last = h
            time.sleep(1)
        stop.set()
        load.join()
        # A snapshot at or below the tip, written, with two blocks above it (the light client's)
        tip = height(url)
        snapshot_height = tip - tip % interval
        snaps = net.nodes[0].node_home.data_dir / "snapshots" / f"{snapshot_height:020d}"
        while not snaps.exists() or height(url) < snapshot_height + 2:
            time.sleep(0.5)
        # Joiners chase the tip: from now on blocks come at a network's pace, one a second
        stop_testnet(root / "net")
        config = load_config(net.nodes[0].node_home.config_toml)
        config.cometbft.timeout_commit_ms = args.join_block_ms
        config.save(net.nodes[0].node_home.config_toml)
        start_testnet(root / "net", serve_api=True)
        while height(url) < snapshot_height + 2:
            time.sleep(0.5)
        blocks = height(url)
        txs, succeeded = count_txs(url, blocks)
        print(f"chain: {blocks} blocks, {txs} txs; joining", file=sys.stderr, flush=True)

        base = free_base_port(2)
        synced = init_full_node(net, root / "statesync", base_port=base, state_sync=True)
        replay = init_full_node(net, root / "replay", base_port=base + 10, state_sync=False)
        target = height(url)
        start = time.monotonic()
        procs = [run_joiner(synced), run_joiner(replay)]
        times: dict[str, float] = {}
        while len(times) < 2:
            for name, node in (("state_sync", synced), ("replay", replay)):
                if name not in times and caught_up(node.rpc_url, target):
                    times[name] = time.monotonic() - start
                    print(f"{name}: {times[name]:.1f} s", file=sys.stderr, flush=True)
            if any(p.poll() is not None for p in procs):
                raise RuntimeError(f"a joining node exited; see {root}/*/node.log")
            time.sleep(0.2)
        print(
            f"state_sync_s={times['state_sync']:.1f} replay_s={times['replay']:.1f} "
            f"accounts={args.accounts + SENDERS + 1 + succeeded} blocks={blocks} txs={txs}"
        )
        return 0
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        stop_testnet(root / "net")
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
