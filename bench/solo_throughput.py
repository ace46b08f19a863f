"""Committed transfers per second through a real solo node's own broadcast path.

Starts `voxpop node start --solo` as a separate process on a fresh home with funded accounts,
pre-signs transfers, submits them through the HTTP batch broadcast endpoint, and waits until every
accepted tx is committed. Prints, as its last line:

    solo_tps=<committed tx/s> sig_verify_per_s=<Ed25519 verifications/s, this machine, this run>

The signature figure is the baseline: each tx needs one verification, so it bounds what one core
can commit.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from voxpop.chain.genesis import UVOX_PER_VOX
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.tx import encode_tx, make_body
from voxpop.crypto.keys import PrivateKey, verify_signature
from voxpop.node.config import NodeConfig
from voxpop.node.init import home_at, init_home

GAS = 100_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure_sig_verify(seconds: float = 1.0) -> int:
    key = PrivateKey(bytes(32))
    msg = b"x" * 200
    sig = key.sign(msg)
    pub = key.public_key.raw
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(200):
            verify_signature(pub, msg, sig)
        n += 200
    return int(n / (time.perf_counter() - start))


# Pre-signed txs cannot follow the fee market: each carries a fee that still covers the base
# price after 35 blocks above the target (a rise of 1/8 each: (9/8)^35 < 64). At the floor's fee
# they were refused (fee_below_base) once the first full blocks raised the price. The excess is a
# tip, paid whole: the same for every tx, so it orders nothing.
FEE_HEADROOM = 64


def sign_transfers(keys: list[PrivateKey], per_key: int, chain_id: str) -> list[bytes]:
    fee = FEE_HEADROOM * AuthParams().min_fee(GAS)
    txs = []
    for seq in range(per_key):
        for i, key in enumerate(keys):
            to = keys[(i + 1) % len(keys)].public_key.address
            body = make_body(
                chain_id=chain_id,
                pub_key=key.public_key.raw,
                sequence=seq,
                fee=fee,
                gas_limit=GAS,
                msgs=[("bank/Send", {"from": key.public_key.address, "to": to, "amount": 1})],
            )
            txs.append(encode_tx(body, key.sign(body.sign_bytes())))
    return txs


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"node exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/v1/status", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("node did not become ready")


def committed_count(client: httpx.Client, url: str, from_height: int) -> tuple[int, int]:
    height = client.get(f"{url}/v1/status").json()["latest_height"]
    total = 0
    for h in range(from_height, height + 1):
        total += client.get(f"{url}/v1/blocks/{h}").json()["header"]["num_txs"]
    return total, height


def run_solo(
    txs_total: int = 20_000,
    accounts: int = 1_000,
    batch: int = 1_000,
    block_interval_ms: int = 500,
) -> float:
    """Start a solo node on a fresh home, submit pre-signed transfers, return committed tx/s."""
    per_key = max(1, txs_total // accounts)
    workdir = Path(tempfile.mkdtemp(prefix="voxpop-bench-"))
    home = home_at(workdir / "node")
    keys = [PrivateKey(os.urandom(32)) for _ in range(accounts)]
    config = NodeConfig()
    config.api.port = free_port()
    config.solo.block_interval_ms = block_interval_ms
    config.solo.commit_timeout_s = 120
    genesis = init_home(
        home,
        chain_id="voxpop-bench",
        config=config,
        balances=[(k.public_key.address, 1_000 * UVOX_PER_VOX) for k in keys],
    )
    url = f"http://127.0.0.1:{config.api.port}"
    print(f"signing {per_key * len(keys)} transfers from {len(keys)} accounts...", flush=True)
    txs = sign_transfers(keys, per_key, genesis.chain_id)
    log = open(workdir / "node.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voxpop.cli.main",
            "node",
            "start",
            "--solo",
            "--home",
            str(home.root),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_ready(url, proc)
        with httpx.Client(timeout=120) as client:
            start_height = client.get(f"{url}/v1/status").json()["latest_height"] + 1
            start = time.perf_counter()
            accepted = 0
            for i in range(0, len(txs), batch):
                chunk = txs[i : i + batch]
                body = {"txs": [base64.b64encode(t).decode() for t in chunk]}
                results = client.post(f"{url}/v1/txs/batch", json=body).json()["results"]
                accepted += sum(1 for r in results if r["code"] == 0)
            submitted = time.perf_counter() - start
            # Poll only the cheap status until the mempool drains; count blocks once, untimed
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                status = client.get(f"{url}/v1/status").json()
                if status["mempool_size"] == 0 and status["latest_height"] >= start_height:
                    break
                time.sleep(0.05)
            elapsed = time.perf_counter() - start
            committed, height = committed_count(client, url, start_height)
        print(
            f"accepted {accepted}/{len(txs)} in {submitted:.2f} s; committed {committed} "
            f"in {elapsed:.2f} s over {height - start_height + 1} blocks"
        )
        return committed / elapsed
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--block-interval-ms", type=int, default=500)
    args = parser.parse_args()
    sig_per_s = measure_sig_verify()
    tps = run_solo(args.txs, args.accounts, args.batch, args.block_interval_ms)
    print(f"ratio solo_tps / sig_verify_per_s = {tps / sig_per_s:.2f}")
    print(f"solo_tps={tps:.0f} sig_verify_per_s={sig_per_s}")


if __name__ == "__main__":
    main()
