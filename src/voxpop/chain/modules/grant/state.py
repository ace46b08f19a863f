"""Sign-up grant state.

grant/params                          -> CBOR map of GrantParams
grant/reg/<registrar pub_key 32>      -> CBOR {"name": text}
grant/id/<identity_hash 32>           -> address 20 (who claimed with this identity)
grant/acc/<address 20>                -> identity_hash 32 (this account has claimed)
grant/quota/<registrar 32><epoch u64> -> uint128 claims attested by the registrar in that epoch
grant/bond/<registrar pub_key 32>     -> uint128 uvox bonded for the registrar, held by the module
                                         account `grant_bonds` (absent: none)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, decode_uint, encode, encode_uint
from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.kv import KVReader
from voxpop.chain.modules.bounds import MAX_DURATION_SECONDS, MAX_UINT64, param_int

PREFIX = b"grant/"
PARAMS_KEY = b"grant/params"
REGISTRAR_PREFIX = b"grant/reg/"
IDENTITY_PREFIX = b"grant/id/"
ACCOUNT_PREFIX = b"grant/acc/"
QUOTA_PREFIX = b"grant/quota/"
BOND_PREFIX = b"grant/bond/"
ATTESTATION_DOMAIN = b"voxpop/grant-attestation/v1\n"


@dataclass(frozen=True, slots=True)
class GrantParams:
    amount: int = 10_000_000  # 10 VOX: enough for thousands of paid calls
    epoch_seconds: int = 86_400
    # Claims one registrar may attest per epoch: a real registrar's onboarding (the simulated
    # 10,000-household network needs about 170 a registrar-day), and what a compromised one takes
    # before governance removes it (docs/economics.md, "Sybil cost")
    registrar_quota: int = 200
    max_attestation_ttl: int = 30 * 86_400
    # uvox a listed registrar must have bonded for its attestations to pay: at least what its
    # quota lets it take before governance can remove it (quota 200 x grant 10 VOX x 4 days,
    # docs/economics.md "Sybil cost"), forfeited to the pool by that removal. 0: no bond needed
    registrar_bond: int = 8_000_000_000

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> GrantParams:
        names = {f.name for f in fields(cls)}
        if set(value) != names:
            raise InvalidGenesisError(f"grant params need exactly {sorted(names)}")
        # Verify amounts within 64 bits; durations within the horizon (time + duration fits a key)
        param_int("grant", "amount", value["amount"], 1, MAX_UINT64)
        param_int("grant", "registrar_quota", value["registrar_quota"], 1, MAX_UINT64)
        param_int("grant", "epoch_seconds", value["epoch_seconds"], 1, MAX_DURATION_SECONDS)
        ttl = value["max_attestation_ttl"]
        param_int("grant", "max_attestation_ttl", ttl, 1, MAX_DURATION_SECONDS)
        param_int("grant", "registrar_bond", value["registrar_bond"], 0, MAX_UINT64)
        return cls(**value)


def adopt_params(stored: dict[str, Any], filled: dict[str, Any]) -> dict[str, Any]:
    """Params for a chain made before registrars bonded (gov/adopt.py): its registrars never
    posted a bond, so it needs none (registrar_bond 0) until governance asks for one."""
    if "registrar_bond" in stored:
        return filled
    return {**filled, "registrar_bond": 0}


def registrar_key(pub_key: bytes) -> bytes:
    return REGISTRAR_PREFIX + pub_key


def identity_key(identity_hash: bytes) -> bytes:
    return IDENTITY_PREFIX + identity_hash


def claimed_account_key(address: bytes) -> bytes:
    return ACCOUNT_PREFIX + address


def quota_key(registrar: bytes, epoch: int) -> bytes:
    return QUOTA_PREFIX + registrar + epoch.to_bytes(8, "big")


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> GrantParams:
    return GrantParams.from_value(decode_state(raw))


def get_params(ctx: Context) -> GrantParams:
    raw = ctx.get(PARAMS_KEY)
    return decode_params(raw) if raw else GrantParams()


def set_params(ctx: Context, params: GrantParams) -> None:
    ctx.set(PARAMS_KEY, encode(asdict(params)))


def is_registrar(ctx: Context, pub_key: bytes) -> bool:
    return ctx.get(registrar_key(pub_key)) is not None


def add_registrar(ctx: Context, pub_key: bytes, name: str) -> None:
    ctx.set(registrar_key(pub_key), encode({"name": name}))


def remove_registrar(ctx: Context, pub_key: bytes) -> None:
    ctx.delete(registrar_key(pub_key))


def get_quota_used(ctx: Context, registrar: bytes, epoch: int) -> int:
    raw = ctx.get(quota_key(registrar, epoch))
    return decode_uint(raw) if raw else 0


def bond_key(pub_key: bytes) -> bytes:
    return BOND_PREFIX + pub_key


def get_bond(ctx: Context, pub_key: bytes) -> int:
    raw = ctx.get(bond_key(pub_key))
    return decode_uint(raw) if raw else 0


def set_bond(ctx: Context, pub_key: bytes, amount: int) -> None:
    """Record the registrar's bond (0 deletes the key: no bond is no entry)."""
    if amount:
        ctx.set(bond_key(pub_key), encode_uint(amount))
    else:
        ctx.delete(bond_key(pub_key))


def read_bonds(reader: KVReader) -> list[tuple[bytes, int]]:
    """Every registrar's bond (pub key, uvox), in key order."""
    return [(k[len(BOND_PREFIX) :], decode_uint(v)) for k, v in reader.iterate(BOND_PREFIX)]


def set_quota_used(ctx: Context, registrar: bytes, epoch: int, used: int) -> None:
    ctx.set(quota_key(registrar, epoch), encode_uint(used))


def attestation_sign_bytes(
    chain_id: str, address: bytes, identity_hash: bytes, expiry_unix: int
) -> bytes:
    """What a registrar signs: this chain, this new account, this identity, until this time."""
    return ATTESTATION_DOMAIN + encode(
        {
            "chain_id": chain_id,
            "address": address,
            "identity_hash": identity_hash,
            "expiry": expiry_unix,
        }
    )
