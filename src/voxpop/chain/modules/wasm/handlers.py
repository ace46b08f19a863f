"""Wasm transitions: store code, instantiate, execute, migrate, update and clear the admin.

A contract call runs in the tx's branch of state like any handler: when it traps, refuses, runs
out of gas or a sub-message fails, the app drops every write of the tx's messages and the tx still
pays its fee.
"""

from __future__ import annotations

from collections.abc import Mapping

from voxpop.chain.context import Context
from voxpop.chain.errors import ChainError, NotContractAdminError
from voxpop.chain.module import MsgRoute
from voxpop.chain.modules.bank import state as bank
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.wasm import state
from voxpop.chain.modules.wasm.host import MAX_RESULT_BYTES
from voxpop.chain.modules.wasm.messages import (
    MsgClearAdmin,
    MsgExecute,
    MsgInstantiate,
    MsgMigrate,
    MsgStoreCode,
    MsgUpdateAdmin,
)
from voxpop.chain.modules.wasm.runtime import CALL_GAS, FUEL_PER_GAS, engine, fuel_budget, run_entry
from voxpop.chain.modules.wasm.submsg import check_stack, run_submsgs

Routes = Mapping[str, MsgRoute]


def call_contract(
    ctx: Context,
    routes: Routes,
    contract: bytes,
    code_id: int,
    entry: str,
    msg: bytes,
    *,
    sender: bytes,
    funds: int,
    stack: tuple[bytes, ...] = (),
    read_only: bool = False,
) -> bytes:
    """Run `entry` of a contract, charge its fuel as gas, then run its sub-messages. Returns the
    call's result bytes. Raises ChainError (the call's, or a sub-message's)."""
    stack = check_stack(stack, contract)
    ctx.gas.consume(CALL_GAS, "wasm call")
    # check_tx admits a call without running the contract, as Cosmos SDK's CheckTx runs no
    # messages: the contract runs once, in the block, where a refusal or a trap still pays the
    # fee (run here too, it would double the cost of every call and let a failing call off free)
    if ctx.is_check and not read_only:
        return b""
    fuel = fuel_budget(ctx)
    try:
        outcome = run_entry(
            ctx,
            routes,
            code_id,
            contract,
            entry,
            msg,
            sender=sender,
            funds=funds,
            read_only=read_only,
            stack=stack,
            fuel=fuel,
        )
    except ChainError as exc:
        used = getattr(exc, "fuel_used", 0)
        ctx.gas.consume(-(-used // FUEL_PER_GAS), "wasm")
        raise
    ctx.gas.consume(-(-outcome.fuel_used // FUEL_PER_GAS), "wasm")
    run_submsgs(ctx, routes, outcome.submsgs, stack)
    return outcome.result


def _result_attrs(result: bytes) -> dict[str, str]:
    return {"result": result[:MAX_RESULT_BYTES].decode("utf-8", errors="replace")} if result else {}


def process_store_code(ctx: Context, msg: MsgStoreCode) -> None:
    eng = engine()
    # Verify the code compiles and follows the ABI (imports, exports, limits, no floats)
    module, _ = eng.compile(msg.code)
    code_id, info = state.create_code(ctx, msg.sender, msg.code)
    eng.remember(info.hash, module)
    ctx.emit(
        "wasm_store_code",
        code_id=str(code_id),
        creator=addr_text(msg.sender),
        hash=info.hash.hex(),
        size=str(info.size),
    )


def process_instantiate(ctx: Context, msg: MsgInstantiate, routes: Routes) -> None:
    # Verify the code exists
    state.get_code(ctx, msg.code_id)
    address = state.next_contract_address(ctx, msg.code_id)
    contract = state.Contract(msg.code_id, msg.sender, msg.admin, msg.label, ctx.block.height)
    state.set_contract(ctx, address, contract)
    if msg.funds:
        bank.send(ctx, msg.sender, address, msg.funds)
    result = call_contract(
        ctx,
        routes,
        address,
        msg.code_id,
        "instantiate",
        msg.msg,
        sender=msg.sender,
        funds=msg.funds,
    )
    ctx.emit(
        "wasm_instantiate",
        contract=addr_text(address),
        code_id=str(msg.code_id),
        creator=addr_text(msg.sender),
        **_result_attrs(result),
    )


def process_execute(
    ctx: Context, msg: MsgExecute, routes: Routes, stack: tuple[bytes, ...] = ()
) -> None:
    contract = state.get_contract(ctx, msg.contract)
    if msg.funds:
        bank.send(ctx, msg.sender, msg.contract, msg.funds)
    result = call_contract(
        ctx,
        routes,
        msg.contract,
        contract.code_id,
        "execute",
        msg.msg,
        sender=msg.sender,
        funds=msg.funds,
        stack=stack,
    )
    ctx.emit(
        "wasm_execute",
        contract=addr_text(msg.contract),
        sender=addr_text(msg.sender),
        **_result_attrs(result),
    )


def migrate_contract(
    ctx: Context, routes: Routes, address: bytes, code_id: int, msg: bytes, sender: bytes
) -> None:
    """Move the contract to `code_id` and run that code's `migrate` (the admin's or governance's
    doing; the caller checked who may)."""
    contract = state.get_contract(ctx, address)
    # Verify the new code exists
    state.get_code(ctx, code_id)
    moved = state.Contract(
        code_id, contract.creator, contract.admin, contract.label, contract.created
    )
    state.set_contract(ctx, address, moved)
    result = call_contract(ctx, routes, address, code_id, "migrate", msg, sender=sender, funds=0)
    ctx.emit(
        "wasm_migrate",
        contract=addr_text(address),
        code_id=str(code_id),
        from_code_id=str(contract.code_id),
        **_result_attrs(result),
    )


def _require_admin(contract: state.Contract, sender: bytes) -> None:
    # Verify the signer is the contract's admin
    if not contract.admin or contract.admin != sender:
        raise NotContractAdminError("only the contract's admin may do this")


def process_migrate(ctx: Context, msg: MsgMigrate, routes: Routes) -> None:
    _require_admin(state.get_contract(ctx, msg.contract), msg.sender)
    migrate_contract(ctx, routes, msg.contract, msg.code_id, msg.msg, msg.sender)


def process_update_admin(ctx: Context, msg: MsgUpdateAdmin) -> None:
    contract = state.get_contract(ctx, msg.contract)
    _require_admin(contract, msg.sender)
    state.set_contract(
        ctx,
        msg.contract,
        state.Contract(
            contract.code_id, contract.creator, msg.new_admin, contract.label, contract.created
        ),
    )
    ctx.emit("wasm_update_admin", contract=addr_text(msg.contract), admin=addr_text(msg.new_admin))


def process_clear_admin(ctx: Context, msg: MsgClearAdmin) -> None:
    contract = state.get_contract(ctx, msg.contract)
    _require_admin(contract, msg.sender)
    state.set_contract(
        ctx,
        msg.contract,
        state.Contract(contract.code_id, contract.creator, b"", contract.label, contract.created),
    )
    ctx.emit("wasm_clear_admin", contract=addr_text(msg.contract))
