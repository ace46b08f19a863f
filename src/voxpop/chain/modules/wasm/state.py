"""Wasm state. Only this module reads or writes keys under `wasm/`.

wasm/code_seq                       -> uint: the last code id given (ids start at 1)
wasm/inst_seq                       -> uint: contracts instantiated so far (addresses use it)
wasm/code/<code_id 8>               -> CBOR {hash: sha256 of the code, creator: addr, size: int}
wasm/wasm/<code_id 8>               -> the code's bytes, as uploaded
wasm/contract/<addr 20>             -> CBOR {code_id, creator, admin (b"" = none), label, created}
wasm/store/<addr 20><key>           -> a contract's own storage (key and value as it wrote them)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, decode_uint, encode, encode_uint
from voxpop.chain.errors import UnknownCodeError, UnknownContractError
from voxpop.chain.kv import KVReader

PREFIX = b"wasm/"
CODE_SEQ_KEY = b"wasm/code_seq"
INSTANCE_SEQ_KEY = b"wasm/inst_seq"
CODE_PREFIX = b"wasm/code/"
WASM_PREFIX = b"wasm/wasm/"
CONTRACT_PREFIX = b"wasm/contract/"
STORE_PREFIX = b"wasm/store/"
ADDRESS_LEN = 20
CONTRACT_DOMAIN = b"voxpop/wasm/contract"


@dataclass(frozen=True, slots=True)
class Code:
    hash: bytes
    creator: bytes
    size: int


@dataclass(frozen=True, slots=True)
class Contract:
    code_id: int
    creator: bytes
    admin: bytes  # b"": no admin (only governance can migrate)
    label: str
    created: int  # block height


def compute_contract_address(code_id: int, instance_seq: int) -> bytes:
    """sha256("voxpop/wasm/contract" || code_id 8B || instance_seq 8B)[:20]: no key controls it."""
    return hashlib.sha256(
        CONTRACT_DOMAIN + code_id.to_bytes(8, "big") + instance_seq.to_bytes(8, "big")
    ).digest()[:ADDRESS_LEN]


def code_key(code_id: int) -> bytes:
    return CODE_PREFIX + code_id.to_bytes(8, "big")


def wasm_key(code_id: int) -> bytes:
    return WASM_PREFIX + code_id.to_bytes(8, "big")


def contract_key(address: bytes) -> bytes:
    return CONTRACT_PREFIX + address


def contract_store_prefix(address: bytes) -> bytes:
    return STORE_PREFIX + address


def contract_store_key(address: bytes, key: bytes) -> bytes:
    return STORE_PREFIX + address + key


def _next_seq(ctx: Context, key: bytes) -> int:
    raw = ctx.get(key)
    seq = (decode_uint(raw) if raw else 0) + 1
    ctx.set(key, encode_uint(seq))
    return seq


def read_seq(state: KVReader, key: bytes) -> int:
    raw = state.get(key)
    return decode_uint(raw) if raw else 0


def create_code(ctx: Context, creator: bytes, code: bytes) -> tuple[int, Code]:
    code_id = _next_seq(ctx, CODE_SEQ_KEY)
    info = Code(hashlib.sha256(code).digest(), creator, len(code))
    set_code(ctx, code_id, info, code)
    return code_id, info


def set_code(ctx: Context, code_id: int, info: Code, code: bytes) -> None:
    ctx.set(
        code_key(code_id), encode({"hash": info.hash, "creator": info.creator, "size": info.size})
    )
    ctx.set(wasm_key(code_id), code)


def decode_code(raw: bytes) -> Code:
    value = decode_state(raw)
    return Code(value["hash"], value["creator"], value["size"])


def read_code(state: KVReader, code_id: int) -> Code | None:
    raw = state.get(code_key(code_id))
    return decode_code(raw) if raw else None


def get_code(ctx: Context | KVReader, code_id: int) -> Code:
    """Raises UnknownCodeError."""
    raw = ctx.get(code_key(code_id))
    # Verify the code exists
    if raw is None:
        raise UnknownCodeError(f"no code has id {code_id}")
    return decode_code(raw)


def get_wasm(ctx: Context | KVReader, code_id: int) -> bytes:
    raw = ctx.get(wasm_key(code_id))
    if raw is None:
        raise UnknownCodeError(f"no code has id {code_id}")
    return raw


def next_contract_address(ctx: Context, code_id: int) -> bytes:
    return compute_contract_address(code_id, _next_seq(ctx, INSTANCE_SEQ_KEY))


def encode_contract(contract: Contract) -> bytes:
    return encode(
        {
            "code_id": contract.code_id,
            "creator": contract.creator,
            "admin": contract.admin,
            "label": contract.label,
            "created": contract.created,
        }
    )


def decode_contract(raw: bytes) -> Contract:
    v = decode_state(raw)
    return Contract(v["code_id"], v["creator"], v["admin"], v["label"], v["created"])


def set_contract(ctx: Context, address: bytes, contract: Contract) -> None:
    ctx.set(contract_key(address), encode_contract(contract))


def read_contract(state: KVReader, address: bytes) -> Contract | None:
    raw = state.get(contract_key(address))
    return decode_contract(raw) if raw else None


def get_contract(ctx: Context | KVReader, address: bytes) -> Contract:
    """Raises UnknownContractError."""
    raw = ctx.get(contract_key(address))
    # Verify the contract exists
    if raw is None:
        raise UnknownContractError("no contract has this address")
    return decode_contract(raw)


def read_codes(state: KVReader) -> list[tuple[int, Code]]:
    return [
        (int.from_bytes(k[len(CODE_PREFIX) :], "big"), decode_code(v))
        for k, v in state.iterate(CODE_PREFIX)
    ]


def read_contracts(state: KVReader) -> list[tuple[bytes, Contract]]:
    return [
        (k[len(CONTRACT_PREFIX) :], decode_contract(v)) for k, v in state.iterate(CONTRACT_PREFIX)
    ]


def read_contract_store(state: KVReader, address: bytes) -> list[tuple[bytes, bytes]]:
    prefix = contract_store_prefix(address)
    return [(k[len(prefix) :], v) for k, v in state.iterate(prefix)]
