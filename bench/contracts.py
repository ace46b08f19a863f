"""Contract txs per second against native transfers, in one solo node, in one run.

Starts a real solo node whose genesis already holds the token contract of
tests/chain/wasm_wat.py (TOKEN, hand-written WAT) with a balance for every sender, then commits
pre-signed native `bank/Send` transfers, then the same number of token transfers
(`wasm/Execute`), each through the node's batch broadcast endpoint, and times each until every
accepted tx is committed. Then measures the raw speed of metered wasm in process (a counting
loop). Prints, as its last line:

    contract_tx_per_s=<committed token transfers/s> transfer_tx_per_s=<committed bank sends/s>
    fuel_per_s=<wasmtime fuel burned per second>

Goal (issue 17): contract txs at >= 25 % of native transfers.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.chain.wasm_wat import TOKEN, contract, wasm
from voxpop.chain.context import BlockInfo, Context
from voxpop.chain.gas import GasMeter, GasSchedule
from voxpop.chain.kv import Branch, CommittedView
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.wasm import state as wasm_state
from voxpop.chain.modules.wasm.runtime import run_entry
from voxpop.chain.tx import encode_tx, make_body
from voxpop.client.testing import LocalNode, free_port
from voxpop.crypto import PrivateKey, encode_address

SEND_GAS = 100_000
EXECUTE_GAS = 60_000
TOKENS = 10**12


def token_genesis(keys: list[PrivateKey]) -> dict[str, Any]:
    """The wasm module's genesis: the token (code 1) at its address, every key holding TOKENS."""
    creator = encode_address(keys[0].public_key.address)
    address = wasm_state.compute_contract_address(1, 1)
    balances = [
        [
            (b"b" + encode_address(k.public_key.address).encode()).hex(),
            TOKENS.to_bytes(8, "little").hex(),
        ]
        for k in keys
    ]
    return {
        "codes": [{"creator": creator, "code": wasm(TOKEN).hex()}],
        "contracts": [
            {
                "address": encode_address(address),
                "code_id": 1,
                "creator": creator,
                "admin": "",
                "label": "bench token",
                "created": 0,
                "state": sorted(balances),
            }
        ],
        "instance_seq": 1,
    }


def sign(
    keys: list[PrivateKey], per_key: int, first_seq: int, chain_id: str, native: bool
) -> list[bytes]:
    token = wasm_state.compute_contract_address(1, 1)
    txs = []
    for n in range(per_key):
        for i, key in enumerate(keys):
            sender = key.public_key.address
            to = keys[(i + 1) % len(keys)].public_key.address
            if native:
                msg = ("bank/Send", {"from": sender, "to": to, "amount": 1})
                gas = SEND_GAS
            else:
                call = json.dumps(f"{encode_address(to)}:1").encode()
                msg = (
                    "wasm/Execute",
                    {"sender": sender, "contract": token, "msg": call, "funds": 0},
                )
                gas = EXECUTE_GAS
            body = make_body(
                chain_id=chain_id,
                pub_key=key.public_key.raw,
                sequence=first_seq + n,
                fee=AuthParams().min_fee(gas),
                gas_limit=gas,
                msgs=[msg],
            )
            txs.append(encode_tx(body, key.sign(body.sign_bytes())))
    return txs


def commit_all(client: httpx.Client, url: str, txs: list[bytes], batch: int) -> tuple[float, int]:
    """Submit `txs` in batches; wait until the mempool drains; return (tx/s committed, failed)."""
    start_height = client.get(f"{url}/v1/status").json()["latest_height"] + 1
    start = time.perf_counter()
    accepted = 0
    for i in range(0, len(txs), batch):
        body = {"txs": [base64.b64encode(t).decode() for t in txs[i : i + batch]]}
        results = client.post(f"{url}/v1/txs/batch", json=body).json()["results"]
        accepted += sum(1 for r in results if r["code"] == 0)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = client.get(f"{url}/v1/status").json()
        if status["mempool_size"] == 0 and status["latest_height"] >= start_height:
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    height = client.get(f"{url}/v1/status").json()["latest_height"]
    committed = failed = 0
    for h in range(start_height, height + 1):
        block = client.get(f"{url}/v1/blocks/{h}").json()
        committed += block["header"]["num_txs"]
        failed += sum(1 for r in block.get("results", []) if r.get("code", 0) != 0)
    print(f"  accepted {accepted}/{len(txs)}, committed {committed} ({failed} failed)")
    print(f"  in {elapsed:.2f} s")
    return committed / elapsed, failed


def measure_fuel_per_s(iterations: int = 5_000_000) -> int:
    """Fuel per second of metered wasm in this process: a counting loop, one fresh instance."""
    counting = contract(
        execute=f"""(local $i i32)
    (loop $l
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      i32.const {iterations}
      i32.lt_u
      br_if $l)
    i32.const 0"""
    )
    code = wasm(counting)
    ctx = Context(
        BlockInfo("bench", 1, 0),
        Branch(CommittedView(lambda _: None, lambda _: iter(()))),
        GasMeter(10**12),
        GasSchedule(),
    )
    wasm_state.set_code(ctx, 1, wasm_state.Code(b"\1" * 32, b"\0" * 20, len(code)), code)
    fuel = 10**11
    start = time.perf_counter()
    outcome = run_entry(
        ctx,
        {},
        1,
        b"\2" * 20,
        "execute",
        b"{}",
        sender=b"\0" * 20,
        funds=0,
        read_only=False,
        stack=(),
        fuel=fuel,
    )
    return int(outcome.fuel_used / (time.perf_counter() - start))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--per-account", type=int, default=10)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--block-interval-ms", type=int, default=500)
    args = parser.parse_args()
    keys = [PrivateKey(os.urandom(32)) for _ in range(args.accounts)]
    with tempfile.TemporaryDirectory(prefix="voxpop-bench-contracts-") as tmp:
        home = Path(tmp) / "node"
        port = free_port()
        funds = {encode_address(k.public_key.address): 1_000_000_000 for k in keys}
        LocalNode.init_home(
            home,
            funds=funds,
            port=port,
            block_interval_ms=args.block_interval_ms,
            configure=lambda c: setattr(c.solo, "commit_timeout_s", 120),
        )
        genesis_path = home / "config" / "genesis.json"
        genesis = json.loads(genesis_path.read_text())
        genesis["app_state"]["wasm"] = token_genesis(keys)
        genesis_path.write_text(json.dumps(genesis))
        chain_id = genesis["chain_id"]
        print(f"signing {2 * args.accounts * args.per_account} txs...", flush=True)
        native = sign(keys, args.per_account, 0, chain_id, native=True)
        calls = sign(keys, args.per_account, args.per_account, chain_id, native=False)
        with (
            LocalNode.start(
                home, chain_id=chain_id, block_interval_ms=args.block_interval_ms
            ) as node,
            httpx.Client(timeout=120) as client,
        ):
            print("bank/Send:")
            transfer_tps, _ = commit_all(client, node.url, native, args.batch)
            print("wasm/Execute (token transfer):")
            contract_tps, failed = commit_all(client, node.url, calls, args.batch)
            if failed:
                raise SystemExit(f"{failed} contract txs failed")
            answer = client.get(
                f"{node.url}/v1/query",
                params={
                    "path": "/wasm/smart",
                    "data": (
                        wasm_state.compute_contract_address(1, 1)
                        + json.dumps(encode_address(keys[0].public_key.address)).encode()
                    ).hex(),
                },
            ).json()
            print(f"  the first account's token balance: {bytes.fromhex(answer['value']).decode()}")
    fuel_per_s = measure_fuel_per_s()
    print(f"contract / native = {contract_tps / transfer_tps:.0%} (goal >= 25 %)")
    rates = f"contract_tx_per_s={contract_tps:.0f} transfer_tx_per_s={transfer_tps:.0f}"
    print(f"{rates} fuel_per_s={fuel_per_s}")


if __name__ == "__main__":
    main()
