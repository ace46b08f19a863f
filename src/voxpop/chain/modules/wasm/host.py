"""The host functions a contract imports from `voxpop` (docs/protocol/contracts.md, ABI v1).

Each charges its gas from the context's GasSchedule, as fuel from the call's store (so a call's
whole cost is one number, bounded by what the tx paid): `gas * FUEL_PER_GAS` fuel, or out of gas.
Buffers out follow one rule: write into (out_ptr, out_cap) and return the full length; if the
length exceeds out_cap nothing is written (the contract retries with a bigger buffer); -1 means
absent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import wasmtime

from voxpop.chain.errors import (
    ChainError,
    ContractAbortedError,
    ContractHostCallError,
    ContractMemoryError,
    ContractReadOnlyError,
    OutOfGasError,
    quote,
)
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.wasm import state
from voxpop.chain.modules.wasm.fastcall import (
    define_i32_func,
    get_fuel,
    read_memory,
    set_fuel,
    write_memory,
)
from voxpop.chain.modules.wasm.runtime import FUEL_PER_GAS, Call, current_call
from voxpop.chain.modules.wasm.validate import ABORT_IMPORT, HOST_FUNCTIONS
from voxpop.crypto.address import AddressError, decode_address
from voxpop.crypto.keys import verify_signature

MAX_KEY_BYTES = 128
MAX_VALUE_BYTES = 64 * 1024
MAX_RESULT_BYTES = 64 * 1024
MAX_ERROR_BYTES = 1024
MAX_EVENTS = 32
MAX_EVENT_TYPE_BYTES = 32
MAX_EVENT_ATTRS = 16
MAX_ATTR_KEY_BYTES = 64
MAX_ATTR_VALUE_BYTES = 512
MAX_SUBMSGS = 16
MAX_SUBMSG_BYTES = 16 * 1024
MAX_QUERY_BYTES = 16 * 1024
MAX_ABORT_TEXT_BYTES = 256
RESERVED_ATTRS = frozenset({"contract"})


# --- memory and gas -------------------------------------------------------------------------


def _memory(call: Call, caller: wasmtime.Caller) -> wasmtime.Memory:
    if call.memory is None:  # during the start function, before instantiate returned
        found = caller.get("memory")
        if not isinstance(found, wasmtime.Memory):
            raise ContractMemoryError("the contract has no memory")
        call.memory = found
    return call.memory


def read_mem(call: Call, caller: wasmtime.Caller, ptr: int, length: int, limit: int) -> bytes:
    """`length` bytes at `ptr`. Raises ContractHostCallError (over `limit`), ContractMemoryError."""
    # Verify the length is within the call's bound and the range within memory
    if length < 0 or length > limit:
        raise ContractHostCallError(f"a host call input is longer than {limit} bytes")
    data = read_memory(caller, _memory(call, caller), ptr, length)
    if data is None:
        raise ContractMemoryError("a host call named memory outside the contract's")
    return data


def write_mem(call: Call, caller: wasmtime.Caller, ptr: int, data: bytes) -> None:
    # Verify the range is within memory
    if not write_memory(caller, _memory(call, caller), ptr, data):
        raise ContractMemoryError("a host call named memory outside the contract's")


def write_out(call: Call, caller: wasmtime.Caller, data: bytes, out_ptr: int, out_cap: int) -> int:
    """The buffer-out rule: write when it fits, return the full length either way."""
    if len(data) <= out_cap:
        write_mem(call, caller, out_ptr, data)
    return len(data)


def charge(call: Call, gas: int) -> None:
    """Take `gas` from the call's fuel. Raises OutOfGasError."""
    fuel = gas * FUEL_PER_GAS
    left = get_fuel(call.store)
    # Verify the call can pay
    if left < fuel:
        set_fuel(call.store, 0)
        raise OutOfGasError("out of gas in a host call")
    set_fuel(call.store, left - fuel)


def _require_writable(call: Call, what: str) -> None:
    # Verify the call may change state (a query may not)
    if call.read_only:
        raise ContractReadOnlyError(f"a query cannot {what}")


# --- storage --------------------------------------------------------------------------------


def db_read(caller: wasmtime.Caller, key_ptr: int, key_len: int, out_ptr: int, out_cap: int) -> int:
    call = current_call()
    key = read_mem(call, caller, key_ptr, key_len, MAX_KEY_BYTES)
    value = call.ctx.store.get(state.contract_store_key(call.contract, key))
    s = call.ctx.schedule
    charge(call, s.read_flat + s.read_byte * (len(value) if value else 0))
    return -1 if value is None else write_out(call, caller, value, out_ptr, out_cap)


def db_write(
    caller: wasmtime.Caller, key_ptr: int, key_len: int, val_ptr: int, val_len: int
) -> None:
    call = current_call()
    _require_writable(call, "write")
    key = read_mem(call, caller, key_ptr, key_len, MAX_KEY_BYTES)
    value = read_mem(call, caller, val_ptr, val_len, MAX_VALUE_BYTES)
    full = state.contract_store_key(call.contract, key)
    s = call.ctx.schedule
    charge(call, s.write_flat + s.write_byte * (len(full) + len(value)))
    # State never holds an empty value (clients read it as absent): writing b"" deletes
    if value:
        call.ctx.store.set(full, value)
    else:
        call.ctx.store.delete(full)


def db_remove(caller: wasmtime.Caller, key_ptr: int, key_len: int) -> None:
    call = current_call()
    _require_writable(call, "delete")
    key = read_mem(call, caller, key_ptr, key_len, MAX_KEY_BYTES)
    charge(call, call.ctx.schedule.delete)
    call.ctx.store.delete(state.contract_store_key(call.contract, key))


def _common_prefix(a: bytes, b: bytes) -> bytes:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def db_next(
    caller: wasmtime.Caller,
    start_ptr: int,
    start_len: int,
    end_ptr: int,
    end_len: int,
    out_ptr: int,
    out_cap: int,
) -> int:
    call = current_call()
    start = read_mem(call, caller, start_ptr, start_len, MAX_KEY_BYTES)
    end = read_mem(call, caller, end_ptr, end_len, MAX_KEY_BYTES)
    base = state.contract_store_prefix(call.contract)
    # The store iterates by prefix: walk the keys sharing start's and end's common prefix, each
    # step charged, so a narrow range is cheap and a wide one pays for what it passes over
    prefix = base + (_common_prefix(start, end) if end else b"")
    step = call.ctx.schedule.iter_step
    for full, _ in call.ctx.store.iterate(prefix):
        charge(call, step)
        key = full[len(base) :]
        if key < start:
            continue
        if end and key >= end:
            return -1
        charge(call, call.ctx.schedule.read_byte * len(key))
        return write_out(call, caller, key, out_ptr, out_cap)
    return -1


# --- the call's context and results ---------------------------------------------------------


def env(caller: wasmtime.Caller, out_ptr: int, out_cap: int) -> int:
    call = current_call()
    block = call.ctx.block
    doc = {
        "contract": addr_text(call.contract),
        "sender": addr_text(call.sender),
        "funds": call.funds,
        "height": block.height,
        "time": block.time_unix,
        "chain_id": block.chain_id,
    }
    data = json.dumps(doc, separators=(",", ":")).encode()
    s = call.ctx.schedule
    charge(call, s.read_flat + s.read_byte * len(data))
    return write_out(call, caller, data, out_ptr, out_cap)


def set_result(caller: wasmtime.Caller, ptr: int, length: int) -> None:
    call = current_call()
    call.result = read_mem(call, caller, ptr, length, MAX_RESULT_BYTES)
    charge(call, call.ctx.schedule.read_byte * length)


def set_error(caller: wasmtime.Caller, ptr: int, length: int) -> None:
    call = current_call()
    raw = read_mem(call, caller, ptr, length, MAX_ERROR_BYTES)
    charge(call, call.ctx.schedule.read_byte * length)
    call.error = raw.decode("utf-8", errors="replace")


def emit(
    caller: wasmtime.Caller, type_ptr: int, type_len: int, attrs_ptr: int, attrs_len: int
) -> None:
    call = current_call()
    _require_writable(call, "emit events")
    kind = read_mem(call, caller, type_ptr, type_len, MAX_EVENT_TYPE_BYTES)
    raw = read_mem(call, caller, attrs_ptr, attrs_len, MAX_EVENT_ATTRS * 600)
    s = call.ctx.schedule
    charge(call, s.read_flat + s.write_byte * (len(kind) + len(raw)))
    # Verify a bounded number of events, a plain type name and a flat map of short strings
    if call.events >= MAX_EVENTS:
        raise ContractHostCallError(f"a call emits at most {MAX_EVENTS} events")
    text = kind.decode("ascii", errors="replace")
    if not text or not all(c.isascii() and (c.isalnum() or c in "_-") for c in text):
        raise ContractHostCallError("an event type is 1 to 32 of a-z, 0-9, _ and -")
    attrs = parse_json(raw, "emit")
    if not isinstance(attrs, dict) or len(attrs) > MAX_EVENT_ATTRS:
        raise ContractHostCallError(
            f"event attributes are a JSON object of at most {MAX_EVENT_ATTRS}"
        )
    for k, v in attrs.items():
        if (
            not isinstance(v, str)
            or not 0 < len(k.encode()) <= MAX_ATTR_KEY_BYTES
            or len(v.encode()) > MAX_ATTR_VALUE_BYTES
            or k in RESERVED_ATTRS
        ):
            raise ContractHostCallError(f"event attribute {quote(k)} is not a short string pair")
    call.events += 1
    call.ctx.emit(f"wasm-{text}", contract=addr_text(call.contract), **attrs)


def parse_json(raw: bytes, where: str) -> Any:
    """JSON from the contract; numbers with a fraction or exponent stay text (no floats)."""
    try:
        return json.loads(raw.decode(), parse_float=str, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ContractHostCallError(f"{where}: the input is not JSON") from None


def _no_constant(name: str) -> Any:
    raise ValueError(name)


# --- sub-messages and queries ---------------------------------------------------------------


def dispatch(caller: wasmtime.Caller, ptr: int, length: int) -> None:
    from voxpop.chain.modules.wasm.submsg import parse_submsg

    call = current_call()
    _require_writable(call, "dispatch messages")
    raw = read_mem(call, caller, ptr, length, MAX_SUBMSG_BYTES)
    s = call.ctx.schedule
    charge(call, s.read_flat + s.read_byte * len(raw))
    # Verify a bounded number of sub-messages
    if len(call.submsgs) >= MAX_SUBMSGS:
        raise ContractHostCallError(f"a call dispatches at most {MAX_SUBMSGS} messages")
    call.submsgs.append(parse_submsg(call, parse_json(raw, "dispatch")))


def query_chain(
    caller: wasmtime.Caller, req_ptr: int, req_len: int, out_ptr: int, out_cap: int
) -> int:
    from voxpop.chain.modules.wasm.submsg import answer_query

    call = current_call()
    raw = read_mem(call, caller, req_ptr, req_len, MAX_QUERY_BYTES)
    s = call.ctx.schedule
    charge(call, s.read_flat + s.read_byte * len(raw))
    value = answer_query(call, parse_json(raw, "query_chain"))
    if value is None:
        return -1
    charge(call, s.read_byte * len(value))
    return write_out(call, caller, value, out_ptr, out_cap)


# --- crypto and addresses -------------------------------------------------------------------


def sha256(caller: wasmtime.Caller, ptr: int, length: int, out_ptr: int) -> None:
    call = current_call()
    data = read_mem(call, caller, ptr, length, MAX_VALUE_BYTES)
    s = call.ctx.schedule
    charge(call, s.read_flat + s.read_byte * length)
    write_mem(call, caller, out_ptr, hashlib.sha256(data).digest())


def ed25519_verify(
    caller: wasmtime.Caller, msg_ptr: int, msg_len: int, sig_ptr: int, pk_ptr: int
) -> int:
    call = current_call()
    msg = read_mem(call, caller, msg_ptr, msg_len, MAX_VALUE_BYTES)
    sig = read_mem(call, caller, sig_ptr, 64, 64)
    pub = read_mem(call, caller, pk_ptr, 32, 32)
    s = call.ctx.schedule
    charge(call, s.sig_verify + s.read_byte * msg_len)
    return 1 if verify_signature(pub, msg, sig) else 0


def addr_validate(caller: wasmtime.Caller, ptr: int, length: int) -> int:
    call = current_call()
    raw = read_mem(call, caller, ptr, length, 128)
    charge(call, call.ctx.schedule.read_flat + len(raw))
    try:
        decode_address(raw.decode("ascii"))
    except (UnicodeDecodeError, AddressError):
        return 0
    return 1


def abort(caller: wasmtime.Caller, msg: int, file: int, line: int, col: int) -> None:
    """AssemblyScript's abort: msg points at a UTF-16 string whose byte length is the u32 before
    it. Decoded when it can be, bounded; the call ends with contract_aborted either way."""
    call = current_call()
    text = ""
    try:
        size = int.from_bytes(read_mem(call, caller, msg - 4, 4, 4), "little")
        raw = read_mem(call, caller, msg, min(size, MAX_ABORT_TEXT_BYTES), MAX_ABORT_TEXT_BYTES)
        text = raw.decode("utf-16-le", errors="replace")
    except ChainError:
        pass
    detail = f": {quote(text, 128)}" if text else ""
    raise ContractAbortedError(f"the contract aborted at line {line}, column {col}{detail}")


HOST: dict[str, Callable[..., Any]] = {
    "db_read": db_read,
    "db_write": db_write,
    "db_remove": db_remove,
    "db_next": db_next,
    "env": env,
    "set_result": set_result,
    "set_error": set_error,
    "emit": emit,
    "dispatch": dispatch,
    "query_chain": query_chain,
    "sha256": sha256,
    "ed25519_verify": ed25519_verify,
    "addr_validate": addr_validate,
}


def make_linker(engine: wasmtime.Engine) -> wasmtime.Linker:
    """Every host function, defined once per engine; each finds its call on the thread's stack."""
    linker = wasmtime.Linker(engine)
    for name, (params, results) in HOST_FUNCTIONS.items():
        define_i32_func(linker, "voxpop", name, params, results, HOST[name])
    module, name = ABORT_IMPORT
    define_i32_func(linker, module, name, 4, 0, abort)
    return linker
