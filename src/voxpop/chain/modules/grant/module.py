"""The grant module: a small sign-up grant for new users, paid from a pool funded at genesis.

Resistance to endless accounts comes from the attestation: a listed registrar vouches that an
identity is unique, each identity and each account can claim once, and each registrar can attest
only so many claims per epoch, so a compromised registrar's damage is bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_canonical
from voxpop.chain.errors import InvalidGenesisError, InvalidQueryError
from voxpop.chain.kv import KVReader
from voxpop.chain.module import Module, MsgRoute, ParamsSpec, address_query
from voxpop.chain.module_accounts import GRANT_POOL, module_address
from voxpop.chain.modules.grant import handlers, state
from voxpop.chain.modules.grant.messages import MsgClaimGrant


def _identity_key(data: bytes) -> bytes:
    if len(data) != 32:
        raise InvalidQueryError("query data must be a 32-byte identity hash")
    return state.identity_key(data)


class GrantModule(Module):
    name = "grant"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(state.PARAMS_KEY, state.GrantParams.from_value, state.GrantParams)

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {MsgClaimGrant.TYPE: MsgRoute(MsgClaimGrant, handlers.process_claim_grant)}

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "params": lambda _: state.PARAMS_KEY,
            "identity": _identity_key,
            "claimed": address_query(state.claimed_account_key),
        }

    def default_genesis(self) -> dict[str, Any]:
        return {"params": asdict(state.GrantParams()), "registrars": []}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        if set(data) != {"params", "registrars"}:
            raise InvalidGenesisError("grant genesis needs exactly params and registrars")
        state.set_params(ctx, state.GrantParams.from_value(dict(data["params"])))
        for i, reg in enumerate(data["registrars"]):
            if not isinstance(reg, dict) or set(reg) != {"pub_key", "name"}:
                raise InvalidGenesisError(f"grant.registrars[{i}] needs pub_key (hex) and name")
            try:
                pub_key = bytes.fromhex(reg["pub_key"])
            except (TypeError, ValueError):
                pub_key = b""
            if len(pub_key) != 32 or not isinstance(reg["name"], str):
                raise InvalidGenesisError(f"grant.registrars[{i}]: pub_key must be 32 bytes hex")
            state.add_registrar(ctx, pub_key, reg["name"])

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        raw = reader.get(state.PARAMS_KEY)
        return {
            "params": decode_canonical(raw) if raw else asdict(state.GrantParams()),
            "registrars": [
                {
                    "pub_key": k[len(state.REGISTRAR_PREFIX) :].hex(),
                    "name": decode_canonical(v)["name"],
                }
                for k, v in reader.iterate(state.REGISTRAR_PREFIX)
            ],
        }


GRANT_POOL_ADDRESS = module_address(GRANT_POOL)
