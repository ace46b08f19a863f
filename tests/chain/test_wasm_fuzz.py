"""Fuzz: random and mutated modules fed to store, instantiate, execute and query on a real app.

Whatever the bytes, every tx ends with a typed result (never the internal error, never an
exception out of the app), the node goes on, and every module's invariants hold after each block
(the harness checks them). Bounded in time (about 10 s); the seed is printed on failure.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path

from tests.chain.harness import Chain, key
from tests.chain.wasm_wat import IMPORTS, TOKEN, contract, data_at, wasm
from voxpop.chain import errors
from voxpop.chain.abci import ExecTxResult, RequestQuery
from voxpop.chain.app import event_attrs
from voxpop.crypto.address import decode_address

ALICE = key(1)
A = ALICE.public_key.address
BUDGET_SECONDS = 6.0
SEED = 1729
VALUES = (0, 1, 3, 7, 42, 64, 100, 1000, 4096, 65535, 65536, 1 << 20, -1, -4, 2147483647)


def _args(rng: random.Random, n: int) -> str:
    return " ".join(f"(i32.const {rng.choice(VALUES)})" for _ in range(n))


def _statement(rng: random.Random) -> str:
    """One statement that leaves the stack as it found it."""
    name = rng.choice(sorted(IMPORTS))
    params = IMPORTS[name].split("(result")[0].count("i32")
    call = f"(call ${name} {_args(rng, params)})"
    choices = [
        f"(drop {call})" if "(result" in IMPORTS[name] else call,
        f"(drop (memory.grow (i32.const {rng.choice((0, 1, 2, 300))})))",
        f"(if (i32.eq (i32.const {rng.randrange(4)}) (i32.const 0)) (then unreachable))",
        f"(i32.store (i32.const {rng.choice(VALUES)}) (i32.const {rng.choice(VALUES)}))",
        f"(drop (i32.div_u (i32.const 7) (i32.const {rng.choice((0, 1, 3))})))",
        "(drop (call $db_read (i32.const 0) (i32.const 3) (i32.const 512) (i32.const 64)))",
        "(call $db_write (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 40))",
        "(call $dispatch (i32.const 16) (i32.const 40))",
        "(call $emit (i32.const 0) (i32.const 3) (i32.const 64) (i32.const 12))",
    ]
    return rng.choice(choices)


def generated(rng: random.Random) -> bytes:
    """A module that passes upload validation, doing random host calls and traps."""
    body = "\n    ".join(_statement(rng) for _ in range(rng.randrange(1, 12)))
    ret = rng.choice((0, 0, 0, 1, -1, 65536))
    data = "\n".join(
        [
            data_at(0, b"key"),
            data_at(16, bytes(rng.randrange(256) for _ in range(40))),
            data_at(64, b'{"a":"b"}  '[: rng.choice((9, 12))]),
        ]
    )
    entry = f"{body}\n    i32.const {ret}"
    return wasm(contract(data=data, execute=entry, query=entry, instantiate=entry))


def mutated(rng: random.Random, base: bytes) -> bytes:
    """The base module with bytes flipped, cut, repeated or inserted."""
    code = bytearray(base)
    for _ in range(rng.randrange(1, 6)):
        at = rng.randrange(len(code)) if code else 0
        op = rng.randrange(4)
        if op == 0 and code:
            code[at] ^= 1 << rng.randrange(8)
        elif op == 1:
            del code[at : at + rng.randrange(1, 16)]
        elif op == 2:
            code[at:at] = code[at : at + rng.randrange(1, 16)]
        else:
            code[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
    return bytes(code)


def random_bytes(rng: random.Random, _base: bytes) -> bytes:
    head = b"\0asm\x01\0\0\0" if rng.random() < 0.7 else b""
    return head + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))


def assert_typed(results: list[ExecTxResult]) -> None:
    for res in results:
        # Verify every failure is a known, specific error: never `internal`
        assert res.code == 0 or (res.code in errors.ERRORS and res.code != 1), res.log


def test_fuzz_store_and_execute(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    chain = Chain.start(tmp_path / "state", [(ALICE, 10**15)])
    token = wasm(TOKEN)
    makers: list[Callable[[random.Random, bytes], bytes]] = [mutated, random_bytes]
    deadline = time.monotonic() + BUDGET_SECONDS
    stored = rounds = 0
    try:
        while time.monotonic() < deadline:
            rounds += 1
            codes = [generated(rng) for _ in range(3)]
            codes += [rng.choice(makers)(rng, token) for _ in range(5)]
            txs = [
                chain.tx(
                    ALICE,
                    [("wasm/StoreCode", {"sender": A, "wasm_byte_code": c})],
                    gas_limit=3_000_000,
                )
                for c in codes
            ]
            results = chain.block(txs)
            assert_typed(results)
            code_ids = [
                int(event_attrs(e)["code_id"])
                for r in results
                for e in r.events
                if e.type == "wasm_store_code"
            ]
            stored += len(code_ids)
            value = {"sender": A, "admin": A, "label": "fuzz", "funds": rng.choice((0, 5))}
            inst = chain.block(
                [
                    chain.tx(
                        ALICE,
                        [("wasm/Instantiate", {**value, "code_id": i, "msg": b"{}"})],
                        gas_limit=500_000,
                    )
                    for i in code_ids
                ]
            )
            assert_typed(inst)
            contracts = [
                decode_address(event_attrs(e)["contract"])
                for r in inst
                for e in r.events
                if e.type == "wasm_instantiate"
            ]
            msgs = [b"{}", json.dumps("x" * rng.randrange(60)).encode(), b"[1,2,3]"]
            assert_typed(
                chain.block(
                    [
                        chain.tx(
                            ALICE,
                            [
                                (
                                    "wasm/Execute",
                                    {
                                        "sender": A,
                                        "contract": c,
                                        "msg": rng.choice(msgs),
                                        "funds": 0,
                                    },
                                )
                            ],
                            gas_limit=rng.choice((30_000, 300_000)),
                        )
                        for c in contracts
                    ]
                )
            )
            for c in contracts:
                answer = chain.app.query(RequestQuery("/wasm/smart", c + rng.choice(msgs)))
                assert answer.code == 0 or (answer.code in errors.ERRORS and answer.code != 1), (
                    answer.log
                )
    except AssertionError as exc:
        raise AssertionError(f"seed {SEED}, round {rounds}: {exc}") from None
    finally:
        chain.app.store.close()
    print(f"fuzz: {rounds} rounds, {stored} codes stored")
    assert rounds >= 2 and stored >= 3
