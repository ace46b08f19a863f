"""The wasm engine: one wasmtime configuration for every node, compiled codes cached by hash, a
fresh Store and Instance for every call.

Determinism: fuel metering (exact and repeatable in wasmtime), NaN canonicalization (floats are
refused at upload anyway), no SIMD, relaxed SIMD or threads, no features the upload scan does not
know. Memory and tables are capped by the store's limits, so `memory.grow` past the cap returns -1
as the spec says. Nothing survives a call: a cached *compiled* module holds no state, and every
call instantiates anew, so a node that restarts computes what one that never stopped does.

wasmtime is pinned to an exact version (pyproject): its fuel counts and its compiled code's stack
use are part of consensus, so an upgrade of it is a chain upgrade.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import wasmtime

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    ChainError,
    ContractMemoryError,
    ContractRefusedError,
    ContractTrapError,
    InvalidWasmError,
    OutOfGasError,
    WasmMissingExportError,
    quote,
)
from voxpop.chain.module import Msg, MsgRoute
from voxpop.chain.modules.wasm import state
from voxpop.chain.modules.wasm.fastcall import (
    call_i32,
    export,
    get_fuel,
    instantiate,
    take_pending,
    write_memory,
)
from voxpop.chain.modules.wasm.validate import (
    MAX_MEMORY_PAGES,
    MAX_TABLE_ELEMENTS,
    MAX_TABLES,
    CodeInfo,
    validate_code,
)

# The fixed rate between wasmtime fuel (about one unit per instruction) and the tx's gas
FUEL_PER_GAS = 100
# What one call costs before it runs: a fresh store and instance (~0.4 ms)
CALL_GAS = 2_000
# A call's most gas when the gas meter has no limit (a governance migration)
MAX_CALL_GAS = 50_000_000
# Native stack for wasm frames: deep recursion traps (stack overflow) well before the host's
MAX_WASM_STACK = 512 * 1024
MAX_CALL_DEPTH = 8
MAX_CACHED_MODULES = 128
PAGE_BYTES = 65536


def _engine_config() -> wasmtime.Config:
    config = wasmtime.Config()
    config.consume_fuel = True
    config.cranelift_nan_canonicalization = True
    config.max_wasm_stack = MAX_WASM_STACK
    # Off: what is non-deterministic, or what the upload scan (validate.py) does not decode.
    # Reference types stay on: wasmtime aborts the process if they are turned off.
    config.wasm_relaxed_simd = False
    config.wasm_simd = False
    config.wasm_threads = False
    config.wasm_tail_call = False
    config.wasm_gc = False
    config.wasm_function_references = False
    config.wasm_exceptions = False
    config.wasm_multi_memory = False
    config.wasm_memory64 = False
    config.wasm_stack_switching = False
    config.wasm_wide_arithmetic = False
    config.wasm_custom_page_sizes = False
    config.parallel_compilation = False
    return config


class Engine:
    """The engine, the linker of host functions, and the compiled-module cache (by code hash)."""

    def __init__(self) -> None:
        self.engine = wasmtime.Engine(_engine_config())
        self._lock = threading.Lock()
        self._modules: OrderedDict[bytes, wasmtime.InstancePre] = OrderedDict()
        from voxpop.chain.modules.wasm.host import make_linker  # host needs this file's types

        self.linker = make_linker(self.engine)

    def compile(self, code: bytes) -> tuple[wasmtime.Module, CodeInfo]:
        """Compile and validate uploaded code. Raises InvalidWasmError and validate's errors."""
        try:
            module = wasmtime.Module(self.engine, code)
        except wasmtime.WasmtimeError:
            # Its text names offsets and features, not secrets; still, keep the log small
            raise InvalidWasmError("the code is not a valid WebAssembly module") from None
        return module, validate_code(code, module)

    def module_for(self, ctx: Context, code_id: int) -> wasmtime.InstancePre:
        """The code `code_id` compiled and linked to the host functions, from the cache or made
        now. Reads state without charging for the code's bytes: gas must not depend on whether
        the cache held it."""
        code = state.get_code(ctx.store, code_id)  # charged in CALL_GAS: fuel is set already
        with self._lock:
            pre = self._modules.get(code.hash)
            if pre is not None:
                self._modules.move_to_end(code.hash)
                return pre
        module = wasmtime.Module(self.engine, state.get_wasm(ctx.store, code_id))
        return self.remember(code.hash, module)

    def remember(self, code_hash: bytes, module: wasmtime.Module) -> wasmtime.InstancePre:
        """Cache a compiled module, pre-linked (instantiating it is then only the store's work)."""
        pre = self.linker.instantiate_pre(module)
        with self._lock:
            self._modules[code_hash] = pre
            self._modules.move_to_end(code_hash)
            while len(self._modules) > MAX_CACHED_MODULES:
                self._modules.popitem(last=False)
        return pre


_ENGINE: Engine | None = None
_ENGINE_LOCK = threading.Lock()


def engine() -> Engine:
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = Engine()
        return _ENGINE


@dataclass(slots=True)
class Call:
    """One call into a contract: what its host functions read and collect."""

    ctx: Context
    routes: Mapping[str, MsgRoute]  # the app's message table, for sub-messages
    contract: bytes
    sender: bytes
    funds: int
    read_only: bool
    stack: tuple[bytes, ...]  # contracts on the call stack, this one last
    store: wasmtime.Store
    memory: wasmtime.Memory | None = None
    result: bytes = b""
    error: str = ""
    events: int = 0
    submsgs: list[Msg] = field(default_factory=list)


_LOCAL = threading.local()


def current_call() -> Call:
    calls: list[Call] = _LOCAL.__dict__.setdefault("calls", [])
    return calls[-1]


def fuel_budget(ctx: Context) -> int:
    remaining = max(ctx.gas.limit - ctx.gas.consumed, 0)
    return min(remaining, MAX_CALL_GAS) * FUEL_PER_GAS


@dataclass(frozen=True, slots=True)
class Outcome:
    result: bytes
    fuel_used: int
    submsgs: tuple[Msg, ...]


def run_entry(
    ctx: Context,
    routes: Mapping[str, MsgRoute],
    code_id: int,
    contract: bytes,
    entry: str,
    msg: bytes,
    *,
    sender: bytes,
    funds: int,
    read_only: bool,
    stack: tuple[bytes, ...],
    fuel: int,
) -> Outcome:
    """Instantiate `code_id` in a fresh store with `fuel` and call `entry(msg)`.

    Raises OutOfGasError when the fuel runs out (all of it is then used), ContractTrapError,
    ContractRefusedError, and what the host functions raise; `fuel_used` is set on the error as
    `exc.fuel_used` so the caller charges it either way."""
    eng = engine()
    pre = eng.module_for(ctx, code_id)
    store = wasmtime.Store(eng.engine)
    store.set_fuel(fuel)
    store.set_limits(
        memory_size=MAX_MEMORY_PAGES * PAGE_BYTES,
        table_elements=MAX_TABLE_ELEMENTS,
        instances=1,
        tables=MAX_TABLES,
        memories=1,
    )
    call = Call(ctx, routes, contract, sender, funds, read_only, stack, store)
    calls: list[Call] = _LOCAL.__dict__.setdefault("calls", [])
    calls.append(call)
    try:
        rc = _invoke(pre, call, entry, msg)
    except ChainError as exc:
        exc.fuel_used = fuel - get_fuel(store)  # type: ignore[attr-defined]
        raise
    finally:
        calls.pop()
    used = fuel - get_fuel(store)
    # Verify the contract accepted the call
    if rc != 0:
        err = ContractRefusedError(
            f"{entry} refused (code {rc})" + (f": {quote(call.error, 256)}" if call.error else "")
        )
        err.fuel_used = used  # type: ignore[attr-defined]
        raise err
    return Outcome(call.result, used, tuple(call.submsgs))


def _invoke(pre: wasmtime.InstancePre, call: Call, entry: str, msg: bytes) -> int:
    store = call.store
    try:
        instance = instantiate(pre, store)
        memory, alloc = export(store, instance, "memory"), export(store, instance, "alloc")
        assert isinstance(memory, wasmtime.Memory) and isinstance(alloc, wasmtime.Func)
        call.memory = memory
        func = export(store, instance, entry)
        # Verify the entry point exists (only `migrate` is optional)
        if not isinstance(func, wasmtime.Func):
            raise WasmMissingExportError(f"the code has no `{entry}`")
        # Place the message in contract memory through the contract's own `alloc`
        ptr = call_i32(store, alloc, len(msg))
        if not write_memory(store, memory, ptr, msg):
            raise ContractMemoryError("alloc returned memory outside the contract's")
        rc: Any = call_i32(store, func, ptr, len(msg))
    except wasmtime.Trap as trap:
        # A host function's exception during instantiation (a start function) comes as a trap
        pending = take_pending()
        if pending is not None:
            raise pending from None
        if trap.trap_code == wasmtime.TrapCode.OUT_OF_FUEL:
            raise OutOfGasError("out of gas in the contract") from None
        code = trap.trap_code.name.lower() if trap.trap_code is not None else "trap"
        raise ContractTrapError(f"the contract trapped: {code}") from None
    except wasmtime.WasmtimeError:
        pending = take_pending()
        if pending is not None:
            raise pending from None
        raise ContractTrapError("the contract could not be instantiated") from None
    # Verify an i32 came back (validation checked the type; a host bug must not pass as success)
    if type(rc) is not int:
        raise ContractTrapError("the contract returned no status")
    return rc
