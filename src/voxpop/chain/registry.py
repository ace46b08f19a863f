"""The modules of the chain, in order, and how a query path maps to the state key it reads.

Free of the store, so the client SDK can compute the key a query must prove without LMDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from voxpop.chain.errors import ChainError, InvalidQueryError, UnknownQueryError, quote
from voxpop.chain.listing import ListRoute
from voxpop.chain.module import ComputedQuery, Module, MsgRoute, parse_msg
from voxpop.chain.modules.auth.module import AuthModule
from voxpop.chain.modules.authz.module import AuthzModule
from voxpop.chain.modules.bank.module import BankModule
from voxpop.chain.modules.beacon.module import BeaconModule
from voxpop.chain.modules.channels.module import ChannelsModule
from voxpop.chain.modules.consent.module import ConsentModule
from voxpop.chain.modules.devices.module import DevicesModule
from voxpop.chain.modules.directory.module import DirectoryModule
from voxpop.chain.modules.distribution.module import DistributionModule
from voxpop.chain.modules.feegrant.module import FeegrantModule
from voxpop.chain.modules.feemarket.module import FeemarketModule
from voxpop.chain.modules.gov.module import GovModule
from voxpop.chain.modules.grant.module import GrantModule
from voxpop.chain.modules.htlc.module import HtlcModule
from voxpop.chain.modules.inbox.module import InboxModule
from voxpop.chain.modules.market.module import MarketModule
from voxpop.chain.modules.services.module import ServicesModule
from voxpop.chain.modules.settings.module import SettingsModule
from voxpop.chain.modules.skills.module import SkillsModule
from voxpop.chain.modules.slashing.module import SlashingModule
from voxpop.chain.modules.staking.module import StakingModule
from voxpop.chain.modules.storage.module import StorageModule
from voxpop.chain.modules.wasm.module import WasmModule
from voxpop.chain.tx import decode_tx

MAX_STORE_KEY = 256


def default_modules() -> list[Module]:
    """Every module, in the order their genesis and block hooks run.

    Begin-block: distribution pays for the previous block (before slashing changes stakes), then
    slashing judges it. End-block: staking matures entries and updates the validator set; the
    fee market settles the block's fees and moves the base price.
    """
    return [
        AuthModule(),
        BankModule(),
        GrantModule(),
        StakingModule(),
        DistributionModule(),
        SlashingModule(),
        AuthzModule(),
        FeegrantModule(),
        DirectoryModule(),
        ServicesModule(),
        ChannelsModule(),
        GovModule(),
        SkillsModule(),
        DevicesModule(),
        InboxModule(),
        SettingsModule(),
        BeaconModule(),
        StorageModule(),
        WasmModule(),
        ConsentModule(),
        MarketModule(),
        HtlcModule(),
        FeemarketModule(),  # last: its end-block sees every param change of the block
    ]


def query_key(modules: Sequence[Module], path: str, data: bytes) -> bytes:
    """The one state key the query `path` with `data` reads.

    `/store` reads the raw key `data`; `/<module>/<name>` asks the module. Raises
    UnknownQueryError, InvalidQueryError.
    """
    if path == "/store":
        # Verify a key the store can hold
        if not 0 < len(data) <= MAX_STORE_KEY:
            raise InvalidQueryError(f"store query data must be a key of 1 to {MAX_STORE_KEY} bytes")
        return data
    parts = path.strip("/").split("/")
    if len(parts) == 2:
        for module in modules:
            routes = module.query_routes()
            if module.name == parts[0] and parts[1] in routes:
                return routes[parts[1]](data)
        listed = list_route(modules, path)
        if listed is not None:  # a list query names its commitment
            return listed.index.commitment_key(listed.owner(data))
    raise UnknownQueryError(f"unknown query path {quote(path)}")


_ROUTES: dict[str, MsgRoute] = {}


def msgs_json(raw_tx: bytes) -> list[dict[str, Any]] | None:
    """A tx's messages in the JSON shape their declarations give (`Msg.to_json`: addresses in
    bech32, bytes in hex), or None if the tx does not decode or a message does not parse."""
    if not _ROUTES:
        _ROUTES.update({t: r for m in default_modules() for t, r in m.msg_routes().items()})
    try:
        tx = decode_tx(raw_tx)
        return [
            parse_msg(_ROUTES, raw, f"msgs[{i}]")[0].to_json() for i, raw in enumerate(tx.body.msgs)
        ]
    except ChainError:
        return None


def computed_query(modules: Sequence[Module], path: str) -> ComputedQuery | None:
    """The computed query `path` names (`/<module>/<name>`, e.g. `/wasm/smart`), or None."""
    parts = path.strip("/").split("/")
    if len(parts) != 2:
        return None
    for module in modules:
        if module.name == parts[0]:
            return module.computed_queries().get(parts[1])
    return None


def list_route(modules: Sequence[Module], path: str) -> ListRoute | None:
    """The list `path` names (`/<module>/<list>`), or None if it names none."""
    parts = path.strip("/").split("/")
    if len(parts) != 2:
        return None
    for module in modules:
        if module.name == parts[0]:
            return module.list_routes().get(parts[1])
    return None
