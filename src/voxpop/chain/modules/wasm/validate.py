"""Upload validation: what a stored code may be, checked once when it is stored.

wasmtime validates and compiles the module (with only the features the engine enables, see
runtime.py); this file checks what wasmtime cannot be told: imports only from the host API, the
ABI's exports with their exact types, memory and table caps, and no floating point at all.

The Python parsers of the wasm binary format on PyPI were looked at and not taken: `wasm` (2019)
and its fork `wasm-tob` (2023) are unmaintained and predate bulk memory and reference types;
`wasm-tools` (2.1, 2026) is recent and unproven. Any of them would be a consensus-critical
dependency whose opcode tables we would have to audit as closely as we can write the ~150 lines
needed here. So the float scan is a small decoder of the sections it needs (type, table, global,
code) written from the spec's binary format. It only ever runs on modules wasmtime has already
validated, and it refuses any opcode it does not know, so a gap in it can only refuse a module,
never let a float through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import wasmtime

from voxpop.chain.errors import (
    InvalidWasmError,
    WasmFloatOpcodeError,
    WasmForbiddenImportError,
    WasmLimitsError,
    WasmMissingExportError,
    quote,
)

MAX_CODE_BYTES = 512 * 1024  # the format's bound; a tx's size limit (auth max_tx_bytes) is tighter
MAX_MEMORY_PAGES = 256  # 16 MiB of linear memory (64 KiB pages)
MAX_TABLE_ELEMENTS = 10_000
MAX_TABLES = 4
MAX_FUNCTIONS = 20_000
WASM_MAGIC = b"\x00asm\x01\x00\x00\x00"

I32, I64, F32, F64 = 0x7F, 0x7E, 0x7D, 0x7C
FLOAT_TYPES = frozenset({F32, F64})
VALUE_TYPES = frozenset({I32, I64, 0x70, 0x6F})  # i32 i64 funcref externref (no v128: SIMD off)

# The host API (import module "voxpop"): name -> (params, results), all i32
HOST_FUNCTIONS: dict[str, tuple[int, int]] = {
    "db_read": (4, 1),
    "db_write": (4, 0),
    "db_remove": (2, 0),
    "db_next": (6, 1),
    "env": (2, 1),
    "set_result": (2, 0),
    "set_error": (2, 0),
    "emit": (4, 0),
    "dispatch": (2, 0),
    "query_chain": (4, 1),
    "sha256": (3, 0),
    "ed25519_verify": (4, 1),
    "addr_validate": (2, 1),
}
# AssemblyScript's runtime reports a failed assertion through env.abort(msg, file, line, col)
ABORT_IMPORT = ("env", "abort")
ABORT_SIGNATURE = (4, 0)

CALL_EXPORTS = ("instantiate", "execute", "query")
OPTIONAL_EXPORTS = ("migrate",)


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """What validation learned about a code."""

    has_migrate: bool


def validate_code(code: bytes, module: wasmtime.Module) -> CodeInfo:
    """Check a compiled module against the ABI. Raises WasmForbiddenImportError,
    WasmMissingExportError, WasmLimitsError, WasmFloatOpcodeError."""
    for imp in module.imports:
        _check_import(imp)
    exports = {e.name: e.type for e in module.exports}
    # Verify the ABI's exports: memory, the version marker, alloc and the entry points
    if not isinstance(exports.get("memory"), wasmtime.MemoryType):
        raise WasmMissingExportError("the code must export its linear memory as `memory`")
    _require_func(exports, "voxpop_abi_v1", 0, 0)
    _require_func(exports, "alloc", 1, 1)
    for name in CALL_EXPORTS:
        _require_func(exports, name, 2, 1)
    has_migrate = "migrate" in exports
    if has_migrate:
        _require_func(exports, "migrate", 2, 1)
    memory = exports["memory"]
    assert isinstance(memory, wasmtime.MemoryType)
    # Verify the memory starts within the cap (growing past it fails at run time: store limits)
    if memory.limits.min > MAX_MEMORY_PAGES:
        raise WasmLimitsError(
            f"the memory starts at {memory.limits.min} pages; at most {MAX_MEMORY_PAGES}"
        )
    scan_sections(code)
    return CodeInfo(has_migrate)


def _signature(func_type: wasmtime.FuncType) -> tuple[int, int] | None:
    """(params, results) if every one is an i32, else None."""
    values = [*func_type.params, *func_type.results]
    if any(str(v) != "i32" for v in values):
        return None
    return len(func_type.params), len(func_type.results)


def _check_import(imp: wasmtime.ImportType) -> None:
    where = f"{quote(imp.module)}.{quote(imp.name or '')}"
    # Verify a function of the host API (or AssemblyScript's abort), with its exact type
    if not isinstance(imp.type, wasmtime.FuncType):
        raise WasmForbiddenImportError(f"import {where}: only host functions may be imported")
    if imp.module == "voxpop" and imp.name in HOST_FUNCTIONS:
        expected = HOST_FUNCTIONS[imp.name]
    elif (imp.module, imp.name) == ABORT_IMPORT:
        expected = ABORT_SIGNATURE
    else:
        raise WasmForbiddenImportError(f"import {where} is not in the contract host API")
    if _signature(imp.type) != expected:
        raise WasmForbiddenImportError(f"import {where} has the wrong type")


def _require_func(exports: dict[str, Any], name: str, params: int, results: int) -> None:
    found = exports.get(name)
    if not isinstance(found, wasmtime.FuncType) or _signature(found) != (params, results):
        raise WasmMissingExportError(
            f"the code must export `{name}` taking {params} i32 and returning {results} i32"
        )


# --- the section scan -----------------------------------------------------------------------


class _Reader:
    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise InvalidWasmError("the code ends inside a section")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > self.end:
            raise InvalidWasmError("the code ends inside a section")
        self.pos += n

    def uleb(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result
            shift += 7
            if shift > 63:
                raise InvalidWasmError("an integer in the code is too long")

    def sleb(self) -> None:
        self.uleb()  # the value itself is never needed: only its length

    def vec(self) -> int:
        n = self.uleb()
        if n > self.end - self.pos:  # each item is at least one byte
            raise InvalidWasmError("a vector in the code is longer than its section")
        return n


def scan_sections(code: bytes) -> None:
    """Refuse floating point: f32/f64 in a function type, global, local, block type or typed
    select, and every float instruction. Also caps tables and functions."""
    # Verify the header (wasmtime checked it; this keeps the scan self-contained)
    if not code.startswith(WASM_MAGIC):
        raise InvalidWasmError("not a WebAssembly 1.0 binary")
    r = _Reader(code, len(WASM_MAGIC))
    while r.pos < r.end:
        section = r.byte()
        size = r.uleb()
        start = r.pos
        r.skip(size)
        body = _Reader(code, start, start + size)
        if section == 1:
            _scan_types(body)
        elif section == 3:
            if body.vec() > MAX_FUNCTIONS:
                raise WasmLimitsError(f"more than {MAX_FUNCTIONS} functions")
        elif section == 4:
            _scan_tables(body)
        elif section == 6:
            _scan_globals(body)
        elif section == 10:
            _scan_code(body)


def _value_type(t: int) -> None:
    # Verify an integer or reference type: no floats, no vectors
    if t in FLOAT_TYPES:
        raise WasmFloatOpcodeError("the code uses a floating-point value type")
    if t not in VALUE_TYPES:
        raise InvalidWasmError(f"unsupported value type 0x{t:02x}")


def _scan_types(r: _Reader) -> None:
    for _ in range(r.vec()):
        if r.byte() != 0x60:
            raise InvalidWasmError("only function types are supported")
        for _ in range(2):  # params, results
            for _ in range(r.vec()):
                _value_type(r.byte())


def _limits(r: _Reader) -> int:
    flag = r.byte()
    minimum = r.uleb()
    if flag & 1:
        r.uleb()
    return minimum


def _scan_tables(r: _Reader) -> None:
    count = r.vec()
    # Verify few, small tables (their growth is capped at run time by the store's limits)
    if count > MAX_TABLES:
        raise WasmLimitsError(f"more than {MAX_TABLES} tables")
    for _ in range(count):
        r.byte()  # reference type
        if _limits(r) > MAX_TABLE_ELEMENTS:
            raise WasmLimitsError(f"a table starts above {MAX_TABLE_ELEMENTS} elements")


def _scan_globals(r: _Reader) -> None:
    for _ in range(r.vec()):
        _value_type(r.byte())
        r.byte()  # mutability
        _scan_expr(r)


def _scan_code(r: _Reader) -> None:
    for _ in range(r.vec()):
        size = r.uleb()
        start = r.pos
        r.skip(size)
        body = _Reader(r.data, start, start + size)
        for _ in range(body.vec()):
            body.uleb()  # how many locals of the type
            _value_type(body.byte())
        _scan_expr(body, to_end=True)


# Opcodes by their immediates. Float instructions (f32/f64 loads, stores, constants, arithmetic,
# comparisons and conversions) are in none of these sets: they are refused as unknown.
_NONE = frozenset(
    {0x00, 0x01, 0x05, 0x0B, 0x0F, 0x1A, 0x1B, 0xD1, 0xA7, 0xAC, 0xAD}
    | set(range(0x45, 0x5B))  # i32/i64 comparisons
    | set(range(0x67, 0x8B))  # i32/i64 arithmetic
    | set(range(0xC0, 0xC5))  # sign extension
)
_ONE_U32 = frozenset({0x0C, 0x0D, 0x10, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x3F, 0x40, 0xD2})
_INT_MEMORY = frozenset(
    {0x28, 0x29, 0x2C, 0x2D, 0x2E, 0x2F, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35}
    | {0x36, 0x37, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E}
)
_FLOAT_OPCODES = frozenset(
    {0x2A, 0x2B, 0x38, 0x39, 0x43, 0x44}
    | set(range(0x5B, 0x67))
    | set(range(0x8B, 0xA7))
    | set(range(0xA8, 0xAC))
    | set(range(0xAE, 0xC0))
)
# 0xFC prefix: sub-opcode -> how many u32 immediates (0-7 are the saturating float truncations)
_FC_IMMEDIATES = {8: 2, 9: 1, 10: 2, 11: 1, 12: 2, 13: 1, 14: 2, 15: 1, 16: 1, 17: 1}


def _scan_expr(r: _Reader, *, to_end: bool = False) -> None:
    """Walk instructions until the `end` that closes the expression (or, for a function body,
    to the end of the body)."""
    depth = 0
    while True:
        if to_end and r.pos >= r.end:
            return
        op = r.byte()
        if op in _NONE:
            if op == 0x0B:
                if depth == 0 and not to_end:
                    return
                depth -= 1
            continue
        if op in _ONE_U32:
            r.uleb()
        elif op in (0x02, 0x03, 0x04):
            depth += 1
            _block_type(r)
        elif op in _INT_MEMORY:
            r.uleb()
            r.uleb()
        elif op in (0x41, 0x42):
            r.sleb()
        elif op == 0x0E:
            for _ in range(r.vec() + 1):
                r.uleb()
        elif op == 0x11:
            r.uleb()
            r.uleb()
        elif op == 0x1C:
            for _ in range(r.vec()):
                _value_type(r.byte())
        elif op == 0xD0:
            r.byte()
        elif op == 0xFC:
            sub = r.uleb()
            if sub < 8:
                raise WasmFloatOpcodeError("the code uses a floating-point instruction")
            if sub not in _FC_IMMEDIATES:
                raise InvalidWasmError(f"unsupported instruction 0xfc {sub}")
            for _ in range(_FC_IMMEDIATES[sub]):
                r.uleb()
        elif op in _FLOAT_OPCODES:
            raise WasmFloatOpcodeError("the code uses a floating-point instruction")
        else:
            raise InvalidWasmError(f"unsupported instruction 0x{op:02x}")


def _block_type(r: _Reader) -> None:
    t = r.data[r.pos] if r.pos < r.end else -1
    if t == 0x40:
        r.byte()
    elif t in FLOAT_TYPES or t in VALUE_TYPES:
        _value_type(r.byte())
    else:
        r.sleb()  # a type index (multi-value): its function type was scanned
