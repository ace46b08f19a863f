"""The wasm module on a real app: store, instantiate, execute, query, migrate, and every bad input
of issue 17 (malformed or oversized code, unknown imports, floats, an infinite loop, unbounded
allocation, deep recursion, re-entrancy, a trap mid-way, garbage returns), each a typed failure
whose writes roll back while the fee is charged."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chain.harness import Chain, key
from tests.chain.wasm_wat import TOKEN, contract, data_at, ops, wasm
from voxpop.chain import errors
from voxpop.chain.abci import ExecTxResult, RequestQuery
from voxpop.chain.app import event_attrs
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.wasm.state import compute_contract_address
from voxpop.chain.modules.wasm.submsg import check_stack
from voxpop.crypto.address import encode_address

ALICE, BOB = key(1), key(2)
A, B = ALICE.public_key.address, BOB.public_key.address
GAS = 400_000


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    c = Chain.start(tmp_path / "state", [(ALICE, 10**12), (BOB, 10**9)])
    yield c
    c.app.store.close()


def run(c: Chain, msg: tuple[str, dict[str, object]], gas: int = GAS) -> ExecTxResult:
    return c.deliver(c.tx(ALICE, [msg], gas_limit=gas))


def store(c: Chain, code: bytes, gas: int = 2_000_000) -> ExecTxResult:
    return run(c, ("wasm/StoreCode", {"sender": A, "wasm_byte_code": code}), gas)


def instantiate(c: Chain, code_id: int, *, funds: int = 0, admin: bytes = b"") -> ExecTxResult:
    value = {"sender": A, "code_id": code_id, "admin": admin, "label": "t", "msg": b"{}"}
    return run(c, ("wasm/Instantiate", {**value, "funds": funds}))


def deploy(c: Chain, wat: str, *, funds: int = 0, admin: bytes = b"") -> bytes:
    res = store(c, wasm(wat))
    assert res.code == 0, res.log
    code_id = int(
        next(event_attrs(e)["code_id"] for e in res.events if e.type == "wasm_store_code")
    )
    res = instantiate(c, code_id, funds=funds, admin=admin)
    assert res.code == 0, res.log
    found = next(event_attrs(e)["contract"] for e in res.events if e.type == "wasm_instantiate")
    from voxpop.crypto.address import decode_address

    return decode_address(found)


def execute(c: Chain, address: bytes, msg: bytes = b"{}", *, gas: int = GAS) -> ExecTxResult:
    return run(c, ("wasm/Execute", {"sender": A, "contract": address, "msg": msg, "funds": 0}), gas)


def next_address(c: Chain, code_id: int) -> bytes:
    """The address the next instantiation of `code_id` gets."""
    raw = c.app.committed.get(b"wasm/inst_seq")
    return compute_contract_address(code_id, (int.from_bytes(raw, "big") if raw else 0) + 1)


def smart(c: Chain, address: bytes, msg: bytes) -> tuple[int, bytes, str]:
    res = c.app.query(RequestQuery("/wasm/smart", address + msg))
    return res.code, res.value, res.log


def stored(c: Chain, address: bytes, key: bytes) -> bytes:
    return c.query("/wasm/state", address + key)


# --- the happy path ---------------------------------------------------------------------------


def test_token_store_instantiate_execute_query(chain: Chain) -> None:
    token = deploy(chain, TOKEN)
    bob = encode_address(B)
    res = execute(chain, token, json.dumps(f"{bob}:1234").encode())
    assert res.code == 0, res.log
    assert smart(chain, token, json.dumps(bob).encode())[:2] == (0, b"1234")
    assert smart(chain, token, json.dumps(encode_address(A)).encode())[1] == b"999999998766"
    # The raw storage is a plain (provable) key
    assert stored(chain, token, b"b" + bob.encode()) == (1234).to_bytes(8, "little")
    # The token refuses an overdraft with its own text; nothing moves
    res = execute(chain, token, json.dumps(f"{encode_address(A)}:99999999999999").encode())
    assert res.code == errors.ContractRefusedError.code and "insufficient funds" in res.log


def test_gas_is_exact_and_repeatable(chain: Chain) -> None:
    token = deploy(chain, TOKEN)
    msg = json.dumps(f"{encode_address(B)}:1").encode()
    execute(chain, token, msg)  # the first pays for creating the recipient's balance
    first, second = execute(chain, token, msg), execute(chain, token, msg)
    assert first.code == second.code == 0
    assert first.gas_used == second.gas_used


def test_code_and_contract_queries(chain: Chain) -> None:
    token = deploy(chain, TOKEN, admin=A)
    assert chain.query("/wasm/wasm", (1).to_bytes(8, "big")) == wasm(TOKEN)
    assert chain.query("/wasm/code", (1).to_bytes(8, "big"))
    assert chain.query("/wasm/contract", token)
    proven = chain.app.query(RequestQuery("/wasm/smart", token + b'"x"', prove=True))
    assert proven.code == errors.InvalidQueryError.code


def test_a_fresh_instance_per_call(chain: Chain) -> None:
    """A global the call increments is 1 in every call: no memory survives a call."""
    counter = deploy(
        chain,
        contract(
            extra="  (global $calls (mut i32) (i32.const 0))",
            execute="""global.get $calls
    i32.const 1
    i32.add
    global.set $calls
    global.get $calls
    i32.const 1
    i32.sub""",
        ),
    )
    assert execute(chain, counter).code == 0
    assert execute(chain, counter).code == 0


# --- uploads that are refused -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (b"", errors.InvalidWasmError),
        (b"\x00asm\x01\x00\x00\x00\x01\xff", errors.InvalidWasmError),
        (b"not wasm at all", errors.InvalidWasmError),
        (wasm(TOKEN)[:-7], errors.InvalidWasmError),
    ],
    ids=["empty", "bad-section", "garbage", "truncated"],
)
def test_invalid_malformed_code(chain: Chain, code: bytes, error: type[errors.ChainError]) -> None:
    before = chain.balance(ALICE)
    res = store(chain, code)
    assert res.code == error.code, res.log
    assert chain.balance(ALICE) == before - AuthParams().min_fee(2_000_000)  # the fee is charged
    assert chain.app.committed.get(b"wasm/code_seq") is None


def test_invalid_oversized_code(chain: Chain) -> None:
    """Code larger than a tx may be is refused at check_tx; larger than the module's bound (a
    chain whose txs may be larger), as wasm_too_large."""
    big = chain.tx(ALICE, [("wasm/StoreCode", {"sender": A, "wasm_byte_code": b"\0" * 40_000})])
    assert chain.check(big).code == errors.TxTooLargeError.code
    from voxpop.chain.modules.wasm.messages import MsgStoreCode

    with pytest.raises(errors.WasmTooLargeError):
        MsgStoreCode.from_value({"sender": A, "wasm_byte_code": b"\0" * (512 * 1024 + 1)})


@pytest.mark.parametrize(
    "extra",
    [
        '(import "voxpop" "clock" (func (result i32)))',
        '(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))',
        '(import "voxpop" "db_read" (func (param i32) (result i32)))',
        '(import "env" "memory" (memory 1))',
        '(import "env" "seed" (global i32))',
    ],
    ids=["unknown-host", "wasi", "wrong-type", "memory", "global"],
)
def test_invalid_imports(chain: Chain, extra: str) -> None:
    res = store(chain, wasm(contract(extra=extra).replace("(memory (export", "(memory (export", 1)))
    assert res.code in (errors.WasmForbiddenImportError.code, errors.InvalidWasmError.code), res.log


@pytest.mark.parametrize(
    ("funcs", "error"),
    [
        ("(func $f (result f32) f32.const 1.5)", errors.WasmFloatOpcodeError),
        (
            "(func $f (param i32) (result i32) local.get 0 f64.convert_i32_s i32.trunc_f64_s)",
            errors.WasmFloatOpcodeError,
        ),
        ("(func $f (local f64))", errors.WasmFloatOpcodeError),
        (
            "(func $f (result i32) i32.const 0 f32.load drop i32.const 0)",
            errors.WasmFloatOpcodeError,
        ),
        (
            "(func $f (result i32) i32.const 0 f32.reinterpret_i32 i32.trunc_sat_f32_s)",
            errors.WasmFloatOpcodeError,
        ),
        ("(global $g f64 (f64.const 0))", errors.WasmFloatOpcodeError),
    ],
    ids=["f32-const", "f64-convert", "f64-local", "f32-load", "trunc-sat", "f64-global"],
)
def test_invalid_float_opcodes(chain: Chain, funcs: str, error: type[errors.ChainError]) -> None:
    res = store(chain, wasm(contract(funcs=funcs)))
    assert res.code == error.code, res.log


def test_invalid_missing_exports_and_limits(chain: Chain) -> None:
    assert store(chain, wasm(contract(marker=False))).code == errors.WasmMissingExportError.code
    no_alloc = contract(alloc="")
    assert store(chain, wasm(no_alloc)).code == errors.WasmMissingExportError.code
    big_memory = contract().replace(
        '(memory (export "memory") 1)', '(memory (export "memory") 300)'
    )
    assert store(chain, wasm(big_memory)).code == errors.WasmLimitsError.code
    big_table = contract(extra="  (table 20000 funcref)")
    assert store(chain, wasm(big_table)).code == errors.WasmLimitsError.code
    mistyped = contract().replace(
        '(func (export "query") (param $p i32) (param $n i32) (result i32)',
        '(func (export "query") (param $p i32) (result i32)',
    )
    assert store(chain, wasm(mistyped)).code == errors.WasmMissingExportError.code


# --- calls that fail: typed errors, writes rolled back, fee charged ---------------------------

WRITE_ABC = """i32.const 100
    i32.const 3
    i32.const 100
    i32.const 3
    call $db_write"""
ABC = data_at(100, b"abc")


def test_infinite_loop_runs_out_of_gas(chain: Chain) -> None:
    looper = deploy(
        chain, contract(data=ABC, execute=f"{WRITE_ABC}\n    (loop $l br $l)\n    i32.const 0")
    )
    before = chain.balance(ALICE)
    res = execute(chain, looper, gas=300_000)
    assert res.code == errors.OutOfGasError.code
    assert res.gas_used == res.gas_wanted == 300_000
    assert chain.balance(ALICE) == before - AuthParams().min_fee(300_000)
    assert stored(chain, looper, b"abc") == b""


def test_unbounded_allocation_stops_at_the_cap(chain: Chain) -> None:
    """memory.grow fails (-1) at 256 pages (16 MiB); the contract sees it and reports the size."""
    grower = deploy(
        chain,
        contract(
            execute="""(block $full
      (loop $more
        i32.const 1
        memory.grow
        i32.const -1
        i32.eq
        br_if $full
        br $more))
    memory.size"""
        ),
    )
    res = execute(chain, grower)
    assert res.code == errors.ContractRefusedError.code and "code 256" in res.log


def test_deep_recursion_traps(chain: Chain) -> None:
    deep = deploy(
        chain,
        contract(
            funcs="""(func $down (param i32) (result i32)
    local.get 0
    i32.const 1
    i32.add
    call $down)""",
            execute="i32.const 0\n    call $down",
        ),
    )
    res = execute(chain, deep, gas=2_000_000)
    assert res.code == errors.ContractTrapError.code and "stack_overflow" in res.log


def test_trap_midway_rolls_back_and_charges(chain: Chain) -> None:
    trapper = deploy(chain, contract(data=ABC, execute=f"{WRITE_ABC}\n    unreachable"))
    before = chain.balance(ALICE)
    res = execute(chain, trapper)
    assert res.code == errors.ContractTrapError.code and "unreachable" in res.log
    assert 0 < res.gas_used < GAS
    assert chain.balance(ALICE) == before - AuthParams().min_fee(GAS)
    assert stored(chain, trapper, b"abc") == b""
    assert chain.sequence(ALICE) == chain.sequences[A]


def test_garbage_returns(chain: Chain) -> None:
    refuses = deploy(chain, contract(data=ABC, execute=f"{WRITE_ABC}\n    i32.const 7"))
    res = execute(chain, refuses)
    assert res.code == errors.ContractRefusedError.code and "code 7" in res.log
    assert stored(chain, refuses, b"abc") == b""
    text = deploy(
        chain,
        contract(
            data=data_at(300, "n\u00e9e \xff".encode("latin-1")),
            execute="i32.const 300\n    i32.const 6\n    call $set_error\n    i32.const -1",
        ),
    )
    res = execute(chain, text)
    assert res.code == errors.ContractRefusedError.code and "code -1" in res.log
    bad_alloc = contract(alloc='(func (export "alloc") (param i32) (result i32) i32.const -5)')
    assert store(chain, wasm(bad_alloc)).code == 0
    assert instantiate(chain, 3).code == errors.ContractMemoryError.code
    wild = deploy(
        chain,
        contract(
            execute=ops(
                "i32.const 2147483000",
                "i32.const 100",
                "i32.const 0",
                "i32.const 0",
                "call $db_read",
            )
        ),
    )
    assert execute(chain, wild).code == errors.ContractMemoryError.code


def test_abort_is_decoded(chain: Chain) -> None:
    message = "hello".encode("utf-16-le")
    aborts = deploy(
        chain,
        contract(
            extra='  (import "env" "abort" (func $abort (param i32 i32 i32 i32)))',
            data=data_at(196, len(message).to_bytes(4, "little") + message),
            execute=ops(
                "i32.const 200",
                "i32.const 0",
                "i32.const 7",
                "i32.const 3",
                "call $abort",
                "i32.const 0",
            ),
        ),
    )
    res = execute(chain, aborts)
    assert res.code == errors.ContractAbortedError.code
    assert "hello" in res.log and "line 7" in res.log


def test_query_is_read_only(chain: Chain) -> None:
    writer = deploy(chain, contract(data=ABC, query=f"{WRITE_ABC}\n    i32.const 0"))
    code, _, log = smart(chain, writer, b"{}")
    assert code == errors.ContractReadOnlyError.code, log


def dispatcher(doc: bytes) -> str:
    return contract(
        data=data_at(4096, doc) + "\n" + ABC,
        execute=ops(
            WRITE_ABC, "i32.const 4096", f"i32.const {len(doc)}", "call $dispatch", "i32.const 0"
        ),
    )


def test_reentrancy_is_refused(chain: Chain) -> None:
    me = next_address(chain, 1)
    doc = {"type": "wasm/Execute", "value": {"contract": encode_address(me), "msg": {}, "funds": 0}}
    assert deploy(chain, dispatcher(json.dumps(doc).encode())) == me
    res = execute(chain, me)
    assert res.code == errors.ContractReentrancyError.code, res.log
    assert stored(chain, me, b"abc") == b""


def test_call_depth_is_bounded() -> None:
    stack = tuple(bytes([i]) * 20 for i in range(8))
    with pytest.raises(errors.ContractCallDepthError):
        check_stack(stack, b"\xff" * 20)


def test_submessage_pays_from_the_contract_atomically(chain: Chain) -> None:
    me = next_address(chain, 1)
    send = {
        "type": "bank/Send",
        "value": {"from": encode_address(me), "to": encode_address(B), "amount": 400},
    }
    assert deploy(chain, dispatcher(json.dumps(send).encode()), funds=1000) == me
    bob = chain.balance(BOB)
    res = execute(chain, me)
    assert res.code == 0, res.log
    assert chain.balance(BOB) == bob + 400 and chain.balance(me) == 600
    assert stored(chain, me, b"abc") == b"abc"
    # A second and third pay; the third finds 200 < 400: it fails, and so does the call's write
    chain.deliver(
        chain.tx(
            ALICE,
            [("wasm/Execute", {"sender": A, "contract": me, "msg": b"{}", "funds": 0})],
            gas_limit=GAS,
        )
    )
    res = execute(chain, me)
    assert res.code == errors.InsufficientFundsError.code
    assert chain.balance(me) == 200


def test_submessage_of_another_signer_or_type_is_refused(chain: Chain) -> None:
    steal = {
        "type": "bank/Send",
        "value": {"from": encode_address(A), "to": encode_address(B), "amount": 1},
    }
    thief = deploy(chain, dispatcher(json.dumps(steal).encode()))
    assert execute(chain, thief).code == errors.ContractSubmsgError.code
    stake = {"type": "staking/Delegate", "value": {}}
    assert (
        execute(chain, deploy(chain, dispatcher(json.dumps(stake).encode()))).code
        == errors.ContractSubmsgError.code
    )
    garbage = deploy(chain, dispatcher(b"{not json"))
    assert execute(chain, garbage).code == errors.ContractHostCallError.code


def test_host_functions(chain: Chain) -> None:
    """sha256, addr_validate, ed25519_verify, query_chain and emit, each read back through the
    status code (a refusal's code carries the number)."""
    signed = b"vox"
    sig = ALICE.sign(signed)
    bob = encode_address(B).encode()
    me = next_address(chain, 1)
    request = json.dumps({"path": "/bank/balance", "data": me.hex()}).encode()
    event = b'{"to":"bob"}'
    wat = contract(
        data="\n".join(
            [
                data_at(100, b"abc"),
                data_at(200, bob),
                data_at(300, signed),
                data_at(400, sig),
                data_at(500, ALICE.public_key.raw),
                data_at(600, request),
                data_at(900, b"transfer"),
                data_at(1000, event),
            ]
        ),
        execute=f"""i32.const 900
    i32.const 8
    i32.const 1000
    i32.const {len(event)}
    call $emit
    i32.const 100
    i32.const 3
    i32.const 2000
    call $sha256
    i32.const 2000
    i32.load8_u
    i32.const 200
    i32.const 42
    call $addr_validate
    i32.const 1000
    i32.add
    i32.add
    i32.const 300
    i32.const 3
    i32.const 400
    i32.const 500
    call $ed25519_verify
    i32.const 10000
    i32.mul
    i32.add
    i32.const 600
    i32.const {len(request)}
    i32.const 3000
    i32.const 64
    call $query_chain
    i32.const 100000
    i32.mul
    i32.add
    i32.const 3015
    i32.load8_u
    i32.const 1000000
    i32.mul
    i32.add""",
    )
    assert deploy(chain, wat, funds=7) == me
    res = execute(chain, me)
    expected = hashlib.sha256(b"abc").digest()[0] + 1001 + 10_000 + 16 * 100_000 + 7 * 1_000_000
    assert res.code == errors.ContractRefusedError.code and f"code {expected}" in res.log, res.log
    # A refused call keeps no events; the emit's shape is checked on a call that succeeds
    ok = deploy(
        chain,
        contract(
            data=data_at(900, b"transfer") + "\n" + data_at(1000, event),
            execute=ops(
                "i32.const 900",
                "i32.const 8",
                "i32.const 1000",
                f"i32.const {len(event)}",
                "call $emit",
                "i32.const 0",
            ),
        ),
    )
    res = execute(chain, ok)
    assert res.code == 0
    emitted = [event_attrs(e) for e in res.events if e.type == "wasm-transfer"]
    assert emitted == [{"contract": encode_address(ok), "to": "bob"}]


# --- migration and the admin ------------------------------------------------------------------


def test_migrate_by_admin_only_and_clear_admin(chain: Chain) -> None:
    first = deploy(chain, contract(), admin=A)
    assert store(chain, wasm(contract(data=ABC, migrate=f"{WRITE_ABC}\n    i32.const 0"))).code == 0
    migrate = {"sender": B, "contract": first, "code_id": 2, "msg": b"{}"}
    res = chain.deliver(chain.tx(BOB, [("wasm/Migrate", migrate)], gas_limit=GAS))
    assert res.code == errors.NotContractAdminError.code
    res = run(chain, ("wasm/Migrate", {**migrate, "sender": A}))
    assert res.code == 0, res.log
    assert stored(chain, first, b"abc") == b"abc"
    # The first code has no migrate: moving back to it fails
    res = run(chain, ("wasm/Migrate", {**migrate, "sender": A, "code_id": 1}))
    assert res.code == errors.WasmMissingExportError.code
    assert run(chain, ("wasm/ClearAdmin", {"sender": A, "contract": first})).code == 0
    res = run(chain, ("wasm/Migrate", {**migrate, "sender": A}))
    assert res.code == errors.NotContractAdminError.code


def test_genesis_round_trip(chain: Chain, tmp_path: Path) -> None:
    token = deploy(chain, TOKEN, admin=A)
    execute(chain, token, json.dumps(f"{encode_address(B)}:5").encode())
    exported = chain.app.export_genesis()["wasm"]
    from voxpop.chain.genesis import default_app_state

    state = default_app_state([(A, 10**12)])
    state["wasm"] = exported
    again = Chain.start(tmp_path / "again", app_state=state)
    assert again.app.export_genesis()["wasm"] == exported
    assert smart(again, token, json.dumps(encode_address(B)).encode())[1] == b"5"
    again.app.store.close()


def test_governance_migrates_a_contract_without_admin(chain: Chain) -> None:
    from voxpop.chain.context import BlockInfo, Context
    from voxpop.chain.gas import InfiniteGasMeter
    from voxpop.chain.kv import Branch
    from voxpop.chain.modules.gov.actions import ActionEnv, MigrateContract
    from voxpop.chain.modules.wasm.state import contract_store_key

    orphan = deploy(chain, contract())
    assert store(chain, wasm(contract(data=ABC, migrate=f"{WRITE_ABC}\n    i32.const 0"))).code == 0
    env = ActionEnv({m.name: m for m in chain.app.modules})
    block = BlockInfo("voxpop-test", chain.app.last_height + 1, chain.time)
    ctx = Context(block, Branch(chain.app.committed), InfiniteGasMeter(), AuthParams().gas)
    action = MigrateContract.from_value({"contract": orphan, "code_id": 2, "msg": b"{}"})
    action.check(ctx, env)
    action.apply(ctx, env)
    assert ctx.store.get(contract_store_key(orphan, b"abc")) == b"abc"
    with pytest.raises(errors.UnknownContractError):
        MigrateContract.from_value({"contract": B, "code_id": 2, "msg": b"{}"}).check(ctx, env)


def test_address_vectors_of_the_protocol_page() -> None:
    """The vectors in docs/protocol/contracts.md, recomputed from the page itself."""
    import re

    page = (Path(__file__).resolve().parents[2] / "docs/protocol/contracts.md").read_text()
    rows = re.findall(r"\| (\d+) \| (\d+) \| `([0-9a-f]{40})` \| `(vox1[0-9a-z]+)` \|", page)
    assert len(rows) == 2
    for code_id, seq, hex_address, text in rows:
        address = compute_contract_address(int(code_id), int(seq))
        assert address.hex() == hex_address and encode_address(address) == text


def test_check_tx_admits_a_call_it_does_not_run(chain: Chain) -> None:
    """The contract runs once, in the block: check_tx accepts a call the contract will refuse,
    and the block's result refuses it, fee charged."""
    refuses = deploy(chain, contract(execute="i32.const 3"))
    tx = chain.tx(
        ALICE,
        [("wasm/Execute", {"sender": A, "contract": refuses, "msg": b"{}", "funds": 0})],
        gas_limit=GAS,
    )
    assert chain.check(tx).code == 0
    before = chain.balance(ALICE)
    res = chain.block([tx])[0]
    assert res.code == errors.ContractRefusedError.code
    assert chain.balance(ALICE) == before - AuthParams().min_fee(GAS)
    # An unknown contract is refused at check_tx already
    missing = chain.tx(
        ALICE,
        [("wasm/Execute", {"sender": A, "contract": B, "msg": b"{}", "funds": 0})],
        gas_limit=GAS,
        sequence=chain.sequences[A],
    )
    assert chain.check(missing).code == errors.UnknownContractError.code


def test_host_exceptions_stay_on_their_thread() -> None:
    """Smart queries run on API threads while blocks run: a host function's exception on one
    thread must never come out of another thread's call (a tx's result would then depend on
    timing). One thread's calls end in a host error, the other's in a trap, many times at once."""
    import threading

    from voxpop.chain.context import BlockInfo, Context
    from voxpop.chain.gas import GasMeter, GasSchedule
    from voxpop.chain.kv import Branch, CommittedView
    from voxpop.chain.modules.wasm import state as ws
    from voxpop.chain.modules.wasm.runtime import run_entry

    def context() -> Context:
        empty = CommittedView(lambda _: None, lambda _: iter(()))
        ctx = Context(BlockInfo("t", 1, 0), Branch(empty), GasMeter(10**9), GasSchedule())
        for code_id, wat in (
            (1, contract(data=ABC, query=f"{WRITE_ABC}\n    i32.const 0")),
            (2, contract(execute="unreachable")),
        ):
            code = wasm(wat)
            ws.set_code(ctx, code_id, ws.Code(bytes([code_id]) * 32, A, len(code)), code)
        return ctx

    seen: dict[str, set[type[Exception]]] = {"query": set(), "trap": set()}

    def calls(name: str, code_id: int, entry: str, read_only: bool) -> None:
        ctx = context()
        for _ in range(150):
            try:
                run_entry(
                    ctx,
                    {},
                    code_id,
                    B,
                    entry,
                    b"{}",
                    sender=A,
                    funds=0,
                    read_only=read_only,
                    stack=(B,),
                    fuel=10**8,
                )
            except errors.ChainError as exc:
                seen[name].add(type(exc))

    threads = [
        threading.Thread(target=calls, args=("query", 1, "query", True)),
        threading.Thread(target=calls, args=("trap", 2, "execute", False)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"query": {errors.ContractReadOnlyError}, "trap": {errors.ContractTrapError}}


def test_smart_queries_at_once_are_bounded(chain: Chain) -> None:
    from voxpop.chain.modules.wasm import module as wasm_module

    token = deploy(chain, TOKEN)
    question = json.dumps(encode_address(A)).encode()
    for _ in range(wasm_module.SMART_QUERIES_AT_ONCE):
        assert wasm_module._SMART_SLOTS.acquire(blocking=False)
    try:
        assert smart(chain, token, question)[0] == errors.ContractQueryError.code
    finally:
        for _ in range(wasm_module.SMART_QUERIES_AT_ONCE):
            wasm_module._SMART_SLOTS.release()
    assert smart(chain, token, question)[:2] == (0, b"1000000000000")


def result_of(res: ExecTxResult) -> str:
    return next(event_attrs(e).get("result", "") for e in res.events if e.type == "wasm_execute")


def test_db_next_walks_keys_in_order(chain: Chain) -> None:
    """Keys a1, a2, b1 written; db_next from "a2" to "b" finds a2, from "a3" to "b" finds
    none (-1), from "a3" without bound finds b1; each found key is the call's result in turn."""
    walker = deploy(
        chain,
        contract(
            data="\n".join([data_at(0, b"a1a2b1a3b"), data_at(16, b"v")]),
            funcs="""(func $put (param $k i32)
    local.get $k
    i32.const 2
    i32.const 16
    i32.const 1
    call $db_write)
  (func $next (param $start i32) (param $end_len i32) (result i32)
    local.get $start
    i32.const 2
    i32.const 8
    local.get $end_len
    i32.const 512
    i32.const 64
    call $db_next)""",
            execute=ops(
                "i32.const 0",
                "call $put",
                "i32.const 2",
                "call $put",
                "i32.const 4",
                "call $put",
                # 600..: the found keys, "-" for none
                "(i32.store8 (i32.const 600) (i32.const 45))",
                "(if (i32.eq (call $next (i32.const 2) (i32.const 1)) (i32.const 2))"
                " (then (i32.store16 (i32.const 600) (i32.load16_u (i32.const 512)))))",
                "(if (i32.eq (call $next (i32.const 6) (i32.const 1)) (i32.const -1))"
                " (then (i32.store8 (i32.const 602) (i32.const 45))))",
                "(if (i32.eq (call $next (i32.const 6) (i32.const 0)) (i32.const 2))"
                " (then (i32.store16 (i32.const 603) (i32.load16_u (i32.const 512)))))",
                "(call $set_result (i32.const 600) (i32.const 5))",
                "i32.const 0",
            ),
        ),
    )
    res = execute(chain, walker)
    assert res.code == 0, res.log
    assert result_of(res) == "a2-b1"


def test_query_chain_smart_and_reentrant_query(chain: Chain) -> None:
    token = deploy(chain, TOKEN)
    me = next_address(chain, 2)
    ask_token = json.dumps({"smart": encode_address(token), "msg": encode_address(A)}).encode()
    ask_self = json.dumps({"smart": encode_address(me), "msg": {}}).encode()
    asker = contract(
        data="\n".join([data_at(0, ask_token), data_at(1024, ask_self)]),
        execute=ops(
            f"(drop (call $query_chain (i32.const 0) (i32.const {len(ask_token)})"
            " (i32.const 2048) (i32.const 64)))",
            "(call $set_result (i32.const 2048) (i32.const 13))",
            "(i32.load8_u (i32.const 0))",
            "i32.const 123",
            "i32.sub",  # 0: the first byte of ask_token is "{"
        ),
        migrate=ops(
            f"(drop (call $query_chain (i32.const 1024) (i32.const {len(ask_self)})"
            " (i32.const 2048) (i32.const 64)))",
            "i32.const 0",
        ),
    )
    assert deploy(chain, asker, admin=A) == me
    res = execute(chain, me)
    assert res.code == 0, res.log
    assert result_of(res) == "1000000000000"
    res = run(chain, ("wasm/Migrate", {"sender": A, "contract": me, "code_id": 2, "msg": b"{}"}))
    assert res.code == errors.ContractReentrancyError.code, res.log


def test_host_calls_charge_the_gas_schedule(chain: Chain) -> None:
    """One db_write of a 3-byte key and a 1-byte value costs write_flat + write_byte x (its state
    key's 11 + 20 + 3 bytes + 1), as any module's write: the rest of the two calls is the same
    (five more instructions: under one gas at 100 fuel a gas)."""
    plain = deploy(chain, contract(data=ABC, execute="i32.const 0"))
    writes = deploy(
        chain,
        contract(
            data=ABC,
            execute=ops(
                "(call $db_write (i32.const 100) (i32.const 3) (i32.const 100) (i32.const 1))",
                "i32.const 0",
            ),
        ),
    )
    s = AuthParams().gas
    expected = s.write_flat + s.write_byte * (len(b"wasm/store/") + 20 + 3 + 1)
    base, written = execute(chain, plain), execute(chain, writes)
    assert base.code == written.code == 0
    assert written.gas_used - base.gas_used in (expected, expected + 1)


INT_STATEMENTS = (
    "(drop (i32.add (i32.const 1) (i32.const 2)))",
    "(drop (i64.mul (i64.const 3) (i64.const 4)))",
    "(drop (i32.load8_u (i32.const 0)))",
    "(i64.store (i32.const 8) (i64.const 1))",
    "(memory.fill (i32.const 0) (i32.const 0) (i32.const 1))",
    "(drop (i32.extend8_s (i32.const 1)))",
    "(drop (select (i32.const 1) (i32.const 2) (i32.const 0)))",
    "(block (br 0))",
    "(drop (i64.extend_i32_u (i32.const 7)))",
    "(drop (i32.wrap_i64 (i64.const 9)))",
)
FLOAT_STATEMENTS = (
    "(drop (f32.add (f32.const 1) (f32.const 2)))",
    "(drop (i32.trunc_sat_f64_s (f64.const 1)))",
    "(f64.store (i32.const 0) (f64.const 0))",
    "(drop (i64.reinterpret_f64 (f64.const 1)))",
    "(drop (f32.demote_f64 (f64.const 1)))",
    "(drop (select (result f32) (f32.const 1) (f32.const 2) (i32.const 0)))",
    "(drop (i32.trunc_f32_u (f32.load (i32.const 0))))",
)


def test_float_scan_refuses_exactly_the_modules_with_floats() -> None:
    """Random bodies of integer and float statements: upload validation refuses a module with
    wasm_float_opcode if and only if a float statement is in it, and accepts the others."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from voxpop.chain.modules.wasm.runtime import engine

    statement = st.sampled_from(INT_STATEMENTS) | st.sampled_from(FLOAT_STATEMENTS)

    @settings(max_examples=40, deadline=None)
    @given(st.lists(statement, min_size=1, max_size=8))
    def check(body: list[str]) -> None:
        code = wasm(contract(execute=ops(*body, "i32.const 0")))
        has_float = any(s in FLOAT_STATEMENTS for s in body)
        try:
            engine().compile(code)
        except errors.WasmFloatOpcodeError:
            assert has_float
        else:
            assert not has_float

    check()
