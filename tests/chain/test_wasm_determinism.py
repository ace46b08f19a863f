"""Determinism: the same contract calls in two separate processes give the same gas used, the
same results and the same state, byte for byte (and so the same app hash).

Each process starts its own chain from the same genesis, stores the token of wasm_wat.py and a
contract that uses every kind of host call, and runs the same txs: transfers, a refusal, a trap,
an infinite loop cut by its gas. It prints what it saw; the two must be identical.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run_scenario(path: Path) -> dict[str, Any]:
    from tests.chain.harness import Chain, key
    from tests.chain.wasm_wat import TOKEN, contract, data_at, ops, wasm
    from voxpop.chain.abci import RequestQuery
    from voxpop.chain.modules.wasm.state import compute_contract_address
    from voxpop.crypto.address import encode_address

    alice, bob = key(1), key(2)
    a = alice.public_key.address
    chain = Chain.start(path, [(alice, 10**12), (bob, 10**9)])
    token, other = compute_contract_address(1, 1), compute_contract_address(2, 2)
    busy = contract(
        data="\n".join([data_at(0, b"key"), data_at(16, b"value"), data_at(64, b'{"n":"1"}')]),
        execute=ops(
            "(call $db_write (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 5))",
            "(drop (call $db_next (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)"
            " (i32.const 512) (i32.const 64)))",
            "(call $sha256 (i32.const 16) (i32.const 5) (i32.const 600))",
            "(call $emit (i32.const 0) (i32.const 3) (i32.const 64) (i32.const 9))",
            "(drop (call $env (i32.const 1024) (i32.const 512)))",
            "(drop (memory.grow (i32.const 3)))",
            "i32.const 0",
        ),
    )
    looping = contract(instantiate="(loop $l br $l)\n    i32.const 0")
    msgs: list[tuple[str, dict[str, Any]]] = [
        ("wasm/StoreCode", {"sender": a, "wasm_byte_code": wasm(TOKEN)}),
        (
            "wasm/Instantiate",
            {"sender": a, "code_id": 1, "admin": b"", "label": "t", "msg": b"{}", "funds": 0},
        ),
        ("wasm/StoreCode", {"sender": a, "wasm_byte_code": wasm(busy)}),
        (
            "wasm/Instantiate",
            {"sender": a, "code_id": 2, "admin": a, "label": "b", "msg": b"{}", "funds": 9},
        ),
        ("wasm/StoreCode", {"sender": a, "wasm_byte_code": wasm(looping)}),
    ]
    results = [chain.deliver(chain.tx(alice, [m], gas_limit=2_000_000)) for m in msgs]
    calls = [
        (token, json.dumps(f"{encode_address(bob.public_key.address)}:{n}").encode())
        for n in (1, 22, 333, 10**15)
    ] + [(other, b"{}"), (other, b"[]")]
    for address, msg in calls:
        value = {"sender": a, "contract": address, "msg": msg, "funds": 0}
        results.append(chain.deliver(chain.tx(alice, [("wasm/Execute", value)], gas_limit=300_000)))
    value = {"sender": a, "code_id": 3, "admin": b"", "label": "l", "msg": b"{}", "funds": 0}
    results.append(chain.deliver(chain.tx(alice, [("wasm/Instantiate", value)], gas_limit=250_000)))
    state = sorted(chain.app.committed.iterate(b""))
    smart = chain.app.query(
        RequestQuery("/wasm/smart", token + json.dumps(encode_address(a)).encode())
    )
    out = {
        "results": [[r.code, r.gas_used, r.log] for r in results],
        "smart": [smart.code, smart.value.hex()],
        "state": hashlib.sha256(b"".join(k + b"\0" + v + b"\1" for k, v in state)).hexdigest(),
        "keys": len(state),
        "app_hash": chain.app.last_app_hash.hex(),
    }
    chain.app.store.close()
    return out


def test_same_gas_and_state_in_two_processes() -> None:
    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.chain.test_wasm_determinism"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )

    first, second = start(), start()
    outs = [p.communicate(timeout=120)[0] for p in (first, second)]
    assert first.returncode == second.returncode == 0
    one, two = (json.loads(o) for o in outs)
    assert one == two
    codes = [code for code, _, _ in one["results"]]
    # The scenario covers success, a refusal (overdraft), a trap-free host-call mix, out of gas
    assert codes[:5] == [0, 0, 0, 0, 0] and 469 in codes and 41 in codes
    assert one["smart"][0] == 0 and one["keys"] > 0


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run_scenario(Path(tmp) / "state")))
