"""Hand-written WAT contracts for the wasm module's tests and its benchmark (ABI v1).

`contract(...)` wraps bodies in the ABI's boilerplate: the exported memory, the version marker,
a bump `alloc`, and the four entry points (each returns 0 unless given a body). `TOKEN` is a
token whose balances live in the contract's storage: the benchmark's transfer.
"""

from __future__ import annotations

import wasmtime

IMPORTS = {
    "db_read": "(param i32 i32 i32 i32) (result i32)",
    "db_write": "(param i32 i32 i32 i32)",
    "db_remove": "(param i32 i32)",
    "db_next": "(param i32 i32 i32 i32 i32 i32) (result i32)",
    "env": "(param i32 i32) (result i32)",
    "set_result": "(param i32 i32)",
    "set_error": "(param i32 i32)",
    "emit": "(param i32 i32 i32 i32)",
    "dispatch": "(param i32 i32)",
    "query_chain": "(param i32 i32 i32 i32) (result i32)",
    "sha256": "(param i32 i32 i32)",
    "ed25519_verify": "(param i32 i32 i32 i32) (result i32)",
    "addr_validate": "(param i32 i32) (result i32)",
}

ALLOC = """
  (global $heap (mut i32) (i32.const 8192))
  (func $alloc (export "alloc") (param $n i32) (result i32)
    (local $p i32)
    global.get $heap
    local.set $p
    global.get $heap
    local.get $n
    i32.add
    global.set $heap
    (block $ok
      (loop $grow
        global.get $heap
        memory.size
        i32.const 16
        i32.shl
        i32.le_u
        br_if $ok
        i32.const 1
        memory.grow
        i32.const -1
        i32.eq
        if
          unreachable
        end
        br $grow))
    local.get $p)
"""


def contract(
    *,
    instantiate: str = "i32.const 0",
    execute: str = "i32.const 0",
    query: str = "i32.const 0",
    migrate: str | None = None,
    funcs: str = "",
    data: str = "",
    extra: str = "",
    alloc: str = ALLOC,
    marker: bool = True,
) -> str:
    """A WAT module following the ABI; each entry's body sees (local 0, local 1) = (ptr, len)."""
    imports = "\n".join(
        f'  (import "voxpop" "{name}" (func ${name} {sig}))' for name, sig in IMPORTS.items()
    )
    entries = [("instantiate", instantiate), ("execute", execute), ("query", query)]
    if migrate is not None:
        entries.append(("migrate", migrate))
    bodies = "\n".join(
        f'  (func (export "{name}") (param $p i32) (param $n i32) (result i32)\n    {body})'
        for name, body in entries
    )
    return f"""(module
{imports}
{extra}
  (memory (export "memory") 1)
{data}
{'  (func (export "voxpop_abi_v1"))' if marker else ""}
{alloc}
{funcs}
{bodies}
)"""


def wasm(wat: str) -> bytes:
    return bytes(wasmtime.wat2wasm(wat))


# Balances under "b" + the holder's bech32 address (42 characters), as 8 bytes little-endian.
# instantiate: the sender gets 10^12. execute: msg = "\"<recipient>:<amount>\"" (a JSON string)
# moves amount from the sender to the recipient. query: msg = "\"<address>\"" -> the balance in
# decimal.
TOKEN = contract(
    data="""
  (data (i32.const 0) "insufficient funds")
  (data (i32.const 32) "bad message")
""",
    funcs="""
  ;; env JSON at 256: {"contract":"<42>","sender":"<42>",... -> the sender at 256 + 67
  (func $load_env
    i32.const 256
    i32.const 1024
    call $env
    drop)
  ;; the storage key "b" + 42 address characters, at 2048
  (func $key (param $addr i32)
    i32.const 2048
    i32.const 98
    i32.store8
    i32.const 2049
    local.get $addr
    i32.const 42
    memory.copy)
  (func $balance (param $addr i32) (result i64)
    local.get $addr
    call $key
    i32.const 2048
    i32.const 43
    i32.const 2112
    i32.const 8
    call $db_read
    i32.const 8
    i32.ne
    if
      i64.const 0
      return
    end
    i32.const 2112
    i64.load)
  (func $set_balance (param $addr i32) (param $v i64)
    local.get $addr
    call $key
    i32.const 2112
    local.get $v
    i64.store
    i32.const 2048
    i32.const 43
    i32.const 2112
    i32.const 8
    call $db_write)
  (func $refuse (param $at i32) (param $len i32) (result i32)
    local.get $at
    local.get $len
    call $set_error
    i32.const 1)
""",
    instantiate="""call $load_env
    i32.const 323
    i64.const 1000000000000
    call $set_balance
    i32.const 0""",
    execute="""(local $amount i64) (local $i i32) (local $c i32) (local $have i64)
    ;; "\\"" + 42 + ":" + digits + "\\"": at least 46 bytes
    local.get $n
    i32.const 46
    i32.lt_u
    if
      i32.const 32
      i32.const 11
      call $refuse
      return
    end
    i32.const 44
    local.set $i
    (block $done
      (loop $digits
        local.get $i
        local.get $n
        i32.const 1
        i32.sub
        i32.ge_u
        br_if $done
        local.get $p
        local.get $i
        i32.add
        i32.load8_u
        i32.const 48
        i32.sub
        local.tee $c
        i32.const 9
        i32.gt_u
        if
          i32.const 32
          i32.const 11
          call $refuse
          return
        end
        local.get $amount
        i64.const 10
        i64.mul
        local.get $c
        i64.extend_i32_u
        i64.add
        local.set $amount
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $digits))
    call $load_env
    i32.const 323
    call $balance
    local.tee $have
    local.get $amount
    i64.lt_u
    if
      i32.const 0
      i32.const 18
      call $refuse
      return
    end
    i32.const 323
    local.get $have
    local.get $amount
    i64.sub
    call $set_balance
    local.get $p
    i32.const 1
    i32.add
    local.get $p
    i32.const 1
    i32.add
    call $balance
    local.get $amount
    i64.add
    call $set_balance
    i32.const 0""",
    query="""(local $v i64) (local $at i32)
    local.get $p
    i32.const 1
    i32.add
    call $balance
    local.set $v
    ;; decimal digits, written backwards from 3072
    i32.const 3072
    local.set $at
    (loop $digit
      local.get $at
      i32.const 1
      i32.sub
      local.tee $at
      local.get $v
      i64.const 10
      i64.rem_u
      i32.wrap_i64
      i32.const 48
      i32.add
      i32.store8
      local.get $v
      i64.const 10
      i64.div_u
      local.tee $v
      i64.const 0
      i64.ne
      br_if $digit)
    local.get $at
    i32.const 3072
    local.get $at
    i32.sub
    call $set_result
    i32.const 0""",
)


def data_at(offset: int, raw: bytes) -> str:
    """A WAT data segment holding `raw` at `offset` (every byte escaped)."""
    escaped = "".join("\\" + format(b, "02x") for b in raw)
    return f'  (data (i32.const {offset}) "{escaped}")'


def ops(*instructions: str) -> str:
    """Instructions, one a line, as an entry's body."""
    return "\n    ".join(instructions)
