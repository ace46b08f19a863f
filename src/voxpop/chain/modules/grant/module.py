"""The grant module: a small sign-up grant for new users, paid from a pool funded at genesis.

Resistance to endless accounts comes from the attestation: a listed registrar vouches that an
identity is unique, each identity and each account can claim once, and each registrar can attest
only so many claims per epoch, so a compromised registrar's damage is bounded. A registrar's
attestations pay only while its bond (held by the `grant_bonds` account) covers `registrar_bond`,
and governance's removal may forfeit that bond to the pool, so misbehaving costs it more than it
takes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_canonical
from voxpop.chain.errors import InvalidGenesisError, InvalidQueryError
from voxpop.chain.kv import KVReader
from voxpop.chain.module import Invariant, Module, MsgRoute, ParamsSpec, address_query
from voxpop.chain.module_accounts import GRANT_BONDS, GRANT_POOL, module_address
from voxpop.chain.modules.bank.state import read_balance
from voxpop.chain.modules.bounds import MAX_UINT64
from voxpop.chain.modules.grant import handlers, state
from voxpop.chain.modules.grant.messages import MsgClaimGrant, MsgPostBond, MsgWithdrawBond

GRANT_POOL_ADDRESS = module_address(GRANT_POOL)
GRANT_BONDS_ADDRESS = module_address(GRANT_BONDS)
REGISTRAR_FIELDS = {"pub_key", "name", "bond"}


def _identity_key(data: bytes) -> bytes:
    if len(data) != 32:
        raise InvalidQueryError("query data must be a 32-byte identity hash")
    return state.identity_key(data)


def _bond_key(data: bytes) -> bytes:
    # Verify the query names one registrar key
    if len(data) != 32:
        raise InvalidQueryError("query data must be a registrar's 32-byte public key")
    return state.bond_key(data)


def _bond_spent(ctx: Context, msg: MsgPostBond) -> int:
    return msg.amount


def _genesis_key(entry: dict[str, Any], where: str) -> bytes:
    try:
        pub_key = bytes.fromhex(entry["pub_key"])
    except (TypeError, ValueError):
        pub_key = b""
    if len(pub_key) != 32:
        raise InvalidGenesisError(f"{where}: pub_key must be 32 bytes hex")
    return pub_key


def _genesis_bond(entry: dict[str, Any], where: str) -> int:
    bond = entry["bond"]
    if type(bond) is not int or not 0 <= bond <= MAX_UINT64:
        raise InvalidGenesisError(f"{where}.bond must be uvox in 0..2^64-1")
    return bond


def genesis_registrar(reg: Any, where: str) -> tuple[bytes, str, int]:
    """(pub key, name, bond uvox) of a genesis registrar entry; raises InvalidGenesisError."""
    if not isinstance(reg, dict) or set(reg) != REGISTRAR_FIELDS:
        raise InvalidGenesisError(f"{where} needs pub_key (hex), name and bond (uvox)")
    if not isinstance(reg["name"], str):
        raise InvalidGenesisError(f"{where}.name must be text")
    return _genesis_key(reg, where), reg["name"], _genesis_bond(reg, where)


def genesis_bond(entry: Any, where: str) -> tuple[bytes, int]:
    """(pub key, bond uvox) of a bond held for a registrar not listed; raises
    InvalidGenesisError."""
    if not isinstance(entry, dict) or set(entry) != {"pub_key", "bond"}:
        raise InvalidGenesisError(f"{where} needs pub_key (hex) and bond (uvox)")
    return _genesis_key(entry, where), _genesis_bond(entry, where)


def _bonds_held(reader: KVReader) -> str | None:
    """The grant_bonds account holds exactly the registrars' bonds."""
    total = sum(amount for _, amount in state.read_bonds(reader))
    held = read_balance(reader, GRANT_BONDS_ADDRESS)
    if held != total:
        return f"the grant_bonds account holds {held} uvox, the registrars' bonds are {total}"
    return None


class GrantModule(Module):
    name = "grant"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(
            state.PARAMS_KEY,
            state.GrantParams.from_value,
            state.GrantParams,
            adopt=state.adopt_params,
        )

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgClaimGrant.TYPE: MsgRoute(MsgClaimGrant, handlers.process_claim_grant),
            MsgPostBond.TYPE: MsgRoute(MsgPostBond, handlers.process_post_bond, _bond_spent),
            MsgWithdrawBond.TYPE: MsgRoute(MsgWithdrawBond, handlers.process_withdraw_bond),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "params": lambda _: state.PARAMS_KEY,
            "identity": _identity_key,
            "claimed": address_query(state.claimed_account_key),
            "bond": _bond_key,
        }

    def default_genesis(self) -> dict[str, Any]:
        return {"params": asdict(state.GrantParams()), "registrars": [], "bonds": []}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        if set(data) != {"params", "registrars", "bonds"}:
            raise InvalidGenesisError("grant genesis needs exactly params, registrars and bonds")
        state.set_params(ctx, state.GrantParams.from_value(dict(data["params"])))
        # The bonds' uvox are the grant_bonds account's genesis balance (the bank's genesis
        # funds it, as it funds the grant pool); the grant/bonds-held invariant checks the two
        for i, reg in enumerate(data["registrars"]):
            pub_key, name, bond = genesis_registrar(reg, f"grant.registrars[{i}]")
            state.add_registrar(ctx, pub_key, name)
            state.set_bond(ctx, pub_key, bond)
        # Bonds held for keys not listed (posted ahead of a listing, or left after a removal)
        for i, entry in enumerate(data["bonds"]):
            pub_key, bond = genesis_bond(entry, f"grant.bonds[{i}]")
            # Verify each key's bond is given once, and a listed one with its registrar
            if state.is_registrar(ctx, pub_key) or state.get_bond(ctx, pub_key):
                raise InvalidGenesisError(f"grant.bonds[{i}]: this key's bond is given already")
            state.set_bond(ctx, pub_key, bond)

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        raw = reader.get(state.PARAMS_KEY)
        bonds = dict(state.read_bonds(reader))
        names = {
            k[len(state.REGISTRAR_PREFIX) :]: decode_canonical(v)["name"]
            for k, v in reader.iterate(state.REGISTRAR_PREFIX)
        }
        return {
            "params": decode_canonical(raw) if raw else asdict(state.GrantParams()),
            "registrars": [
                {"pub_key": k.hex(), "name": name, "bond": bonds.get(k, 0)}
                for k, name in names.items()
            ],
            "bonds": [
                {"pub_key": k.hex(), "bond": bond} for k, bond in bonds.items() if k not in names
            ],
        }

    def invariants(self) -> list[Invariant]:
        return [Invariant("grant/bonds-held", _bonds_held)]
