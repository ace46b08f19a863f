"""The wasm module: community contracts, metered and sandboxed WebAssembly on wasmtime
(docs/protocol/contracts.md is the ABI and host API)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from voxpop.chain.context import BlockInfo, Context
from voxpop.chain.encoding import encode_uint
from voxpop.chain.errors import (
    ChainError,
    ContractQueryError,
    InvalidGenesisError,
    InvalidQueryError,
)
from voxpop.chain.gas import GasMeter
from voxpop.chain.kv import Branch, KVReader
from voxpop.chain.module import Invariant, Module, MsgRoute, address_query
from voxpop.chain.module_accounts import module_address
from voxpop.chain.modules.auth.state import read_params as read_auth_params
from voxpop.chain.modules.codec import addr_text, genesis_address
from voxpop.chain.modules.wasm import handlers, state
from voxpop.chain.modules.wasm.host import MAX_KEY_BYTES
from voxpop.chain.modules.wasm.messages import (
    MsgClearAdmin,
    MsgExecute,
    MsgInstantiate,
    MsgMigrate,
    MsgStoreCode,
    MsgUpdateAdmin,
)
from voxpop.chain.modules.wasm.runtime import engine

# A smart query is computed by the node asked, on the API's threads: its gas (100M fuel, about
# a tenth of a second) and how many run at once bound what queries can take from block production
QUERY_GAS = 1_000_000
SMART_QUERIES_AT_ONCE = 2
_SMART_SLOTS = threading.BoundedSemaphore(SMART_QUERIES_AT_ONCE)
GOV_ADDRESS = module_address("gov")
GENESIS_FIELDS = {"codes", "contracts", "instance_seq"}
CONTRACT_FIELDS = {"address", "code_id", "creator", "admin", "label", "created", "state"}


def _code_query(data: bytes) -> bytes:
    """`/wasm/code` and `/wasm/wasm`: data = code id, 8 bytes big-endian."""
    # Verify one code id
    if len(data) != 8:
        raise InvalidQueryError("query data must be a code id, 8 bytes big-endian")
    return state.code_key(int.from_bytes(data, "big"))


def _wasm_query(data: bytes) -> bytes:
    return state.wasm_key(int.from_bytes(data, "big")) if len(data) == 8 else _code_query(data)


def _state_query(data: bytes) -> bytes:
    """`/wasm/state`: data = contract address 20 ‖ key (the contract's raw storage: provable)."""
    # Verify an address and a key within the contract key limit
    if not state.ADDRESS_LEN < len(data) <= state.ADDRESS_LEN + MAX_KEY_BYTES:
        raise InvalidQueryError(
            f"query data must be a 20-byte contract address and a key of 1 to {MAX_KEY_BYTES} bytes"
        )
    return state.contract_store_key(data[: state.ADDRESS_LEN], data[state.ADDRESS_LEN :])


# What a sender's messages move into a contract, for authz's spend limits
def _instantiate_spent(ctx: Context, msg: MsgInstantiate) -> int:
    return msg.funds


def _execute_spent(ctx: Context, msg: MsgExecute) -> int:
    return msg.funds


class WasmModule(Module):
    name = "wasm"
    prefix = state.PREFIX

    def __init__(self) -> None:
        self.routes: Mapping[str, MsgRoute] = {}

    def bind_routes(self, routes: Mapping[str, MsgRoute]) -> None:
        self.routes = routes

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgStoreCode.TYPE: MsgRoute(MsgStoreCode, handlers.process_store_code),
            MsgInstantiate.TYPE: MsgRoute(
                MsgInstantiate, self._process_instantiate, spend_of=_instantiate_spent
            ),
            MsgExecute.TYPE: MsgRoute(MsgExecute, self._process_execute, spend_of=_execute_spent),
            MsgMigrate.TYPE: MsgRoute(MsgMigrate, self._process_migrate),
            MsgUpdateAdmin.TYPE: MsgRoute(MsgUpdateAdmin, handlers.process_update_admin),
            MsgClearAdmin.TYPE: MsgRoute(MsgClearAdmin, handlers.process_clear_admin),
        }

    # The handlers read the message table when they run: it is bound after every module is known
    def _process_instantiate(self, ctx: Context, msg: MsgInstantiate) -> None:
        handlers.process_instantiate(ctx, msg, self.routes)

    def _process_execute(self, ctx: Context, msg: MsgExecute) -> None:
        handlers.process_execute(ctx, msg, self.routes)

    def _process_migrate(self, ctx: Context, msg: MsgMigrate) -> None:
        handlers.process_migrate(ctx, msg, self.routes)

    def migrate_by_governance(
        self, ctx: Context, contract: bytes, code_id: int, msg: bytes
    ) -> None:
        """A passed proposal's migration: no admin needed (the gov account is the sender)."""
        handlers.migrate_contract(ctx, self.routes, contract, code_id, msg, GOV_ADDRESS)

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "code": _code_query,
            "wasm": _wasm_query,
            "contract": address_query(state.contract_key, "contract address"),
            "state": _state_query,
        }

    def computed_queries(self) -> Mapping[str, Callable[[KVReader, BlockInfo, bytes], bytes]]:
        return {"smart": self.smart_query}

    def smart_query(self, reader: KVReader, block: BlockInfo, data: bytes) -> bytes:
        """`/wasm/smart`: data = contract address 20 ‖ the query message (JSON). The contract's
        `query` computes the answer on the node asked: answered, not proven."""
        # Verify an address and a message
        if len(data) <= state.ADDRESS_LEN:
            raise InvalidQueryError(
                "query data must be a 20-byte contract address and a JSON message"
            )
        address, msg = data[: state.ADDRESS_LEN], data[state.ADDRESS_LEN :]
        # Verify a slot is free (a node answers a few smart queries at once; the others retry)
        if not _SMART_SLOTS.acquire(blocking=False):
            raise ContractQueryError("the node is answering other smart queries: retry")
        try:
            return self._smart_query(reader, block, address, msg)
        finally:
            _SMART_SLOTS.release()

    def _smart_query(self, reader: KVReader, block: BlockInfo, address: bytes, msg: bytes) -> bytes:
        ctx = Context(
            block, Branch(reader), GasMeter(QUERY_GAS), read_auth_params(reader).gas, is_check=True
        )
        contract = state.get_contract(ctx, address)
        return handlers.call_contract(
            ctx,
            self.routes,
            address,
            contract.code_id,
            "query",
            msg,
            sender=address,
            funds=0,
            read_only=True,
        )

    def default_genesis(self) -> dict[str, Any]:
        return {"codes": [], "contracts": [], "instance_seq": 0}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        # Verify the shape, then each code (validated as an upload is) and each contract
        if set(data) != GENESIS_FIELDS or not all(
            isinstance(data[k], list) for k in ("codes", "contracts")
        ):
            raise InvalidGenesisError(f"wasm genesis needs exactly {sorted(GENESIS_FIELDS)}")
        eng = engine()
        for i, entry in enumerate(data["codes"]):
            where = f"wasm.codes[{i}]"
            if not isinstance(entry, dict) or set(entry) != {"creator", "code"}:
                raise InvalidGenesisError(f"{where} needs exactly creator and code (hex)")
            try:
                code = bytes.fromhex(entry["code"])
                eng.compile(code)
            except (TypeError, ValueError):
                raise InvalidGenesisError(f"{where}.code must be hex") from None
            except ChainError as exc:
                raise InvalidGenesisError(f"{where}: {exc.message}") from None
            state.create_code(ctx, genesis_address(entry["creator"], f"{where}.creator"), code)
        codes = state.read_seq(ctx, state.CODE_SEQ_KEY)
        seq = data["instance_seq"]
        if type(seq) is not int or not 0 <= seq < 1 << 63:
            raise InvalidGenesisError("wasm.instance_seq must be a count of contracts")
        ctx.set(state.INSTANCE_SEQ_KEY, encode_uint(seq))
        for i, entry in enumerate(data["contracts"]):
            where = f"wasm.contracts[{i}]"
            if not isinstance(entry, dict) or set(entry) != CONTRACT_FIELDS:
                raise InvalidGenesisError(f"{where} needs exactly {sorted(CONTRACT_FIELDS)}")
            address = genesis_address(entry["address"], f"{where}.address")
            code_id, created = entry["code_id"], entry["created"]
            if type(code_id) is not int or not 1 <= code_id <= codes:
                raise InvalidGenesisError(f"{where}.code_id names no code")
            if type(created) is not int or created < 0 or state.read_contract(ctx, address):
                raise InvalidGenesisError(f"{where}: a duplicate address, or a bad created height")
            admin = (
                b"" if entry["admin"] == "" else genesis_address(entry["admin"], f"{where}.admin")
            )
            if not isinstance(entry["label"], str) or not isinstance(entry["state"], list):
                raise InvalidGenesisError(f"{where}: label is text, state a list of [key, value]")
            creator = genesis_address(entry["creator"], f"{where}.creator")
            contract = state.Contract(code_id, creator, admin, entry["label"], created)
            state.set_contract(ctx, address, contract)
            for pair in entry["state"]:
                try:
                    key, value = bytes.fromhex(pair[0]), bytes.fromhex(pair[1])
                except (TypeError, ValueError, IndexError, KeyError):
                    raise InvalidGenesisError(f"{where}.state holds [key hex, value hex]") from None
                if not 0 < len(key) <= MAX_KEY_BYTES or not value:
                    raise InvalidGenesisError(f"{where}.state: keys of 1 to {MAX_KEY_BYTES} bytes")
                ctx.set(state.contract_store_key(address, key), value)

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        """Codes in id order (ids are dense from 1, so they replay to the same ids), contracts
        with their address and storage."""
        codes = [
            {"creator": addr_text(code.creator), "code": state.get_wasm(reader, code_id).hex()}
            for code_id, code in state.read_codes(reader)
        ]
        contracts = [
            {
                "address": addr_text(address),
                "code_id": contract.code_id,
                "creator": addr_text(contract.creator),
                "admin": addr_text(contract.admin) if contract.admin else "",
                "label": contract.label,
                "created": contract.created,
                "state": [
                    [k.hex(), v.hex()] for k, v in state.read_contract_store(reader, address)
                ],
            }
            for address, contract in state.read_contracts(reader)
        ]
        seq = state.read_seq(reader, state.INSTANCE_SEQ_KEY)
        return {"codes": codes, "contracts": contracts, "instance_seq": seq}

    def invariants(self) -> list[Invariant]:
        return [Invariant("wasm/contracts-have-code", _contracts_have_code)]


def _contracts_have_code(reader: KVReader) -> str | None:
    """Every contract runs a stored code; every stored key belongs to a contract."""
    codes = {code_id for code_id, _ in state.read_codes(reader)}
    contracts = {addr for addr, _ in state.read_contracts(reader)}
    for address, contract in state.read_contracts(reader):
        if contract.code_id not in codes:
            return f"contract {address.hex()} runs code {contract.code_id}, which is not stored"
    for key, _ in reader.iterate(state.STORE_PREFIX):
        if (
            key[len(state.STORE_PREFIX) : len(state.STORE_PREFIX) + state.ADDRESS_LEN]
            not in contracts
        ):
            return f"stored key {key.hex()} belongs to no contract"
    return None
