"""Sub-messages a contract dispatches, and the chain reads it may make.

A contract's `dispatch` queues a message that runs AFTER its call returns, as the contract's
account, in the same branch of state as the call: if any sub-message fails, the whole tx fails and
nothing of it (the call's writes included) is kept. Contracts calling contracts form a stack: a
call into a contract already on it is refused (re-entrancy), and the stack is at most
MAX_CALL_DEPTH deep.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    ChainError,
    ContractCallDepthError,
    ContractHostCallError,
    ContractReentrancyError,
    ContractSubmsgError,
    quote,
)
from voxpop.chain.module import Module, Msg, MsgRoute, msg_from_json
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.wasm import state
from voxpop.chain.modules.wasm.fastcall import get_fuel, set_fuel
from voxpop.chain.modules.wasm.messages import MsgExecute
from voxpop.chain.modules.wasm.runtime import MAX_CALL_DEPTH, Call, run_entry

# The module messages a contract may send as itself: pay, pay skill royalties, vote; and calls
# into other contracts. Nothing that changes validators, grants or keys.
ALLOWED_SUBMSGS = frozenset(
    {"bank/Send", "bank/MultiSend", "skills/Settle", "gov/Vote", "gov/WeightedVote", "wasm/Execute"}
)


def parse_submsg(call: Call, doc: Any) -> Msg:
    """A dispatched `{"type", "value"}` (the value in the message's JSON shape, as the API shows
    it), parsed by its declaration. `wasm/Execute` may leave out `sender`. Raises
    ContractSubmsgError."""
    # Verify the shape, an allowed type, and that the contract itself signs
    if (
        not isinstance(doc, dict)
        or doc.keys() != {"type", "value"}
        or not isinstance(doc["value"], dict)
    ):
        raise ContractSubmsgError('a sub-message is {"type": ..., "value": {...}}')
    kind = doc["type"]
    route = call.routes.get(kind) if isinstance(kind, str) else None
    if route is None or kind not in ALLOWED_SUBMSGS:
        raise ContractSubmsgError(f"contracts may not send {quote(str(kind))}")
    value = dict(doc["value"])
    if kind == MsgExecute.TYPE:
        value.setdefault("sender", addr_text(call.contract))
    try:
        msg = msg_from_json(route.msg_cls, value, f"dispatch {kind}")
    except ChainError as exc:
        raise ContractSubmsgError(exc.message) from None
    if msg.signers() != (call.contract,):
        raise ContractSubmsgError(f"{kind} must be sent by the contract itself")
    return msg


def check_stack(stack: Sequence[bytes], contract: bytes) -> tuple[bytes, ...]:
    """The stack with `contract` on top. Raises ContractReentrancyError, ContractCallDepthError."""
    # Verify no re-entrancy and a bounded depth
    if contract in stack:
        raise ContractReentrancyError("the contract is already on the call stack")
    if len(stack) >= MAX_CALL_DEPTH:
        raise ContractCallDepthError(f"contract calls nest at most {MAX_CALL_DEPTH} deep")
    return (*stack, contract)


_MODULES: list[Module] = []


def _modules() -> list[Module]:
    # The registry lists this module too: imported when first needed, not at import time
    if not _MODULES:
        from voxpop.chain.registry import default_modules

        _MODULES.extend(default_modules())
    return _MODULES


def answer_query(call: Call, doc: Any) -> bytes | None:
    """A read-only query from a contract: `{"path", "data": hex}` reads the one state key a node
    query of that path reads; `{"smart": addr, "msg": JSON}` runs another contract's `query`.
    Raises ContractHostCallError and what the queried contract raises."""
    from voxpop.chain.registry import query_key

    if isinstance(doc, dict) and doc.keys() == {"path", "data"}:
        path, data = doc["path"], doc["data"]
        try:
            key = query_key(_modules(), str(path), bytes.fromhex(str(data)))
        except (ValueError, ChainError):
            raise ContractHostCallError(
                f"query_chain: bad path or data for {quote(str(path))}"
            ) from None
        return call.ctx.store.get(key)
    if isinstance(doc, dict) and doc.keys() == {"smart", "msg"}:
        from voxpop.chain.modules.wasm.messages import CONTRACT_MSG
        from voxpop.crypto.address import AddressError, decode_address

        try:
            target = decode_address(str(doc["smart"]))
        except AddressError:
            raise ContractHostCallError("query_chain: smart needs a contract address") from None
        contract = state.get_contract(call.ctx.store, target)
        fuel = get_fuel(call.store)
        used = fuel
        try:
            outcome = run_entry(
                call.ctx,
                call.routes,
                contract.code_id,
                target,
                "query",
                CONTRACT_MSG.from_json(doc["msg"]),
                sender=call.contract,
                funds=0,
                read_only=True,
                stack=check_stack(call.stack, target),
                fuel=fuel,
            )
            used = outcome.fuel_used
        except ChainError as exc:
            used = getattr(exc, "fuel_used", fuel)
            raise
        finally:
            set_fuel(call.store, fuel - used)
        return outcome.result
    raise ContractHostCallError('query_chain takes {"path", "data"} or {"smart", "msg"}')


def run_submsgs(
    ctx: Context, routes: Mapping[str, MsgRoute], msgs: Sequence[Msg], stack: tuple[bytes, ...]
) -> None:
    """Run a call's sub-messages in order, on the call's own branch of state."""
    from voxpop.chain.modules.wasm.handlers import process_execute

    for msg in msgs:
        if isinstance(msg, MsgExecute):
            process_execute(ctx, msg, routes, stack)
        else:
            routes[msg.TYPE].handler(ctx, msg)
        ctx.emit("wasm_submsg", contract=addr_text(stack[-1]), msg_type=msg.TYPE)
