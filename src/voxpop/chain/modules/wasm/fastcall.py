"""Calls into a contract's exports without wasmtime-py's per-call type reflection.

`Func.__call__` asks the store for the function's type and converts every value through it on
each call; the ABI's exports have types fixed at upload (validate.py checks them), so the host
builds the i32 arguments itself. Only for the pinned wasmtime version: these are its internals.

An exception a host function raises ends the wasm call with a trap and is then re-raised as is.
wasmtime-py keeps such an exception in one global for the whole process; a node runs contracts on
two threads at once (blocks, and smart queries from the API), so one thread could raise the
other's exception and a tx's result would depend on timing. Here it is kept per thread
(`take_pending`), and `call_i32` raises the calling thread's own.

These calls keep the GIL (the library loaded again as a `PyDLL`): ctypes' usual `CDLL` releases
it at every call, and a node's other threads (the API, the signature verifier) then took it for
up to their switch interval (5 ms) at each of the dozens of crossings a contract call makes
(every host function re-enters Python): contract txs ran four times slower in a node than in
process. Holding it, a call is one stretch of work; a contract's run is bounded by its gas.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from ctypes import byref
from typing import Any

import wasmtime
from wasmtime import _bindings
from wasmtime import _ffi as ffi
from wasmtime._extern import wrap_extern
from wasmtime._func import Caller

I32 = ffi.WASMTIME_I32.value
# The same shared library (dlopen returns the loaded one), through calls that keep the GIL
_HELD = ctypes.PyDLL(ffi.dll._name)


def _held(name: str) -> Any:
    """The library's function `name`, typed as wasmtime-py types it, called with the GIL held."""
    typed = getattr(_bindings, "_" + name)
    func = getattr(_HELD, name)
    func.restype, func.argtypes = typed.restype, typed.argtypes
    return func


_func_call = _held("wasmtime_func_call")
_memory_data = _held("wasmtime_memory_data")
_memory_data_size = _held("wasmtime_memory_data_size")
_export_get = _held("wasmtime_instance_export_get")
_get_fuel = _held("wasmtime_context_get_fuel")
_set_fuel = _held("wasmtime_context_set_fuel")
_pre_instantiate = _held("wasmtime_instance_pre_instantiate")
_PENDING = threading.local()


def take_pending() -> BaseException | None:
    """The exception a host function raised on this thread since the last take, if any."""
    exc: BaseException | None = getattr(_PENDING, "exc", None)
    _PENDING.exc = None
    return exc


def call_i32(store: wasmtime.Store, func: wasmtime.Func, *args: int) -> int:
    """Call an export of type [i32 ...] -> [i32]; return its result."""
    params = (ffi.wasmtime_val_t * len(args))()
    for i, arg in enumerate(args):
        params[i].kind = I32  # type: ignore[assignment]  # ctypes takes the int
        params[i].of.i32 = arg
    results = (ffi.wasmtime_val_t * 1)()
    trap = ctypes.POINTER(ffi.wasm_trap_t)()
    error = _func_call(
        store._context(), byref(func._func), params, len(args), results, 1, byref(trap)
    )
    pending = take_pending()
    if pending is not None:
        if trap:
            wasmtime.Trap._from_ptr(trap)  # owned, so freed
        raise pending
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    if trap:
        raise wasmtime.Trap._from_ptr(trap)
    value: int = results[0].of.i32
    return value


def export(store: wasmtime.Store, instance: wasmtime.Instance, name: str) -> object | None:
    """One export by name (InstanceExports would wrap every export first)."""
    raw = name.encode()
    item = ffi.wasmtime_extern_t()
    found = _export_get(
        store._context(), byref(instance._instance), ctypes.c_char_p(raw), len(raw), byref(item)
    )
    return wrap_extern(item) if found else None


# Callbacks handed to wasmtime stay referenced here for the process's life (the linker is too)
_CALLBACKS: list[object] = []


def define_i32_func(
    linker: wasmtime.Linker,
    module: str,
    name: str,
    params: int,
    results: int,
    func: Callable[..., int | None],
) -> None:
    """Define a host function of type [i32 * params] -> [i32 * results] (results 0 or 1) on the
    unchecked path: arguments read straight from the raw values, no per-call type objects.
    `func(caller, *args)`; an exception it raises ends the call and is re-raised by the caller
    of the export, as through `Linker.define_func`."""
    func_type = wasmtime.FuncType(
        [wasmtime.ValType.i32()] * params, [wasmtime.ValType.i32()] * results
    )

    def trampoline(env: object, caller_ptr: object, vals: Any, count: int) -> int:
        caller = Caller(caller_ptr)  # type: ignore[arg-type]  # the C caller pointer
        try:
            out = func(caller, *(vals[i].i32 for i in range(params)))
            if results:
                vals[0].i32 = out
            return 0
        except BaseException as exc:
            _PENDING.exc = exc  # re-raised by this thread's call_i32 (or _invoke)
            trap = wasmtime.Trap("python exception")._consume()
            address: int = ctypes.cast(trap, ctypes.c_void_p).value or 0
            return address
        finally:
            caller._invalidate()

    callback = ffi.wasmtime_func_unchecked_callback_t(trampoline)
    _CALLBACKS.append(callback)
    module_raw, name_raw = module.encode(), name.encode()
    error = ffi.wasmtime_linker_define_func_unchecked(
        linker.ptr(),
        ctypes.create_string_buffer(module_raw),
        len(module_raw),
        ctypes.create_string_buffer(name_raw),
        len(name_raw),
        func_type.ptr(),
        callback,
        None,
        ctypes.CFUNCTYPE(None, ctypes.c_void_p)(),  # no finalizer: NULL
    )
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)


def read_memory(store: Any, memory: wasmtime.Memory, ptr: int, length: int) -> bytes | None:
    """`length` bytes at `ptr` of `memory`, or None when the range is outside it. `store` is the
    Store or the Caller of a host call."""
    context = store._context()
    size = _memory_data_size(context, byref(memory._memory))
    if ptr < 0 or length < 0 or ptr + length > size:
        return None
    base = ctypes.cast(_memory_data(context, byref(memory._memory)), ctypes.c_void_p)
    return ctypes.string_at((base.value or 0) + ptr, length)


def write_memory(store: Any, memory: wasmtime.Memory, ptr: int, data: bytes) -> bool:
    """Write `data` at `ptr` of `memory`; False (nothing written) when outside it."""
    context = store._context()
    size = _memory_data_size(context, byref(memory._memory))
    if ptr < 0 or ptr + len(data) > size:
        return False
    base = ctypes.cast(_memory_data(context, byref(memory._memory)), ctypes.c_void_p)
    ctypes.memmove((base.value or 0) + ptr, data, len(data))
    return True


def get_fuel(store: Any) -> int:
    """The fuel left in `store` (a Store, or a host call's Caller)."""
    left = ctypes.c_uint64(0)
    error = _get_fuel(store._context(), byref(left))
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    return int(left.value)


def set_fuel(store: Any, fuel: int) -> None:
    error = _set_fuel(store._context(), fuel)
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)


def instantiate(pre: wasmtime.InstancePre, store: wasmtime.Store) -> wasmtime.Instance:
    """A fresh instance of the pre-linked module in `store`; a start function's trap (or a host
    function's exception in it) raised as `call_i32` raises them."""
    instance = ffi.wasmtime_instance_t()
    trap = ctypes.POINTER(ffi.wasm_trap_t)()
    error = _pre_instantiate(pre.ptr(), store._context(), byref(instance), byref(trap))
    pending = take_pending()
    if pending is not None:
        if trap:
            wasmtime.Trap._from_ptr(trap)
        raise pending
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    if trap:
        raise wasmtime.Trap._from_ptr(trap)
    return wasmtime.Instance._from_raw(instance)
