"""Module accounts: addresses owned by a module, not by a key. Only they may mint or burn.

An address is sha256("voxpop/module/" + name)[:20], so no private key can control it.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum


class Permission(StrEnum):
    MINTER = "minter"
    BURNER = "burner"


def module_address(name: str) -> bytes:
    return hashlib.sha256(b"voxpop/module/" + name.encode()).digest()[:20]


FEE_COLLECTOR = "fee_collector"
GRANT_POOL = "grant_pool"
GRANT_BONDS = "grant_bonds"  # registrars' bonds: withdrawn by them, or forfeited to the grant pool
MINT = "mint"
BONDED_POOL = "bonded_pool"  # tokens of bonded validators
NOT_BONDED_POOL = "not_bonded_pool"  # tokens of other validators and of maturing undelegations
DISTRIBUTION = "distribution"  # rewards and commission not yet claimed
COMMUNITY_POOL = "community_pool"  # the community tax, spent by governance
CHANNELS = "channels"  # payment channels' deposits not yet claimed or returned
GOV = "gov"  # deposits of open proposals: refunded, or burned when vetoed or short of quorum
SERVICES = "services"  # providers' stakes, leaving ones included
STORAGE = "storage"  # storage providers' collateral and deals' escrow not yet paid or returned
MARKET = "market"  # data offers' escrow not yet paid to sellers or returned to buyers
HTLC = "htlc"  # hash-time-locked uvox not yet claimed or refunded

# Which module accounts exist and what they may do. Later modules (staking, ...) add theirs.
MODULE_ACCOUNTS: dict[str, frozenset[Permission]] = {
    FEE_COLLECTOR: frozenset({Permission.BURNER}),
    GRANT_POOL: frozenset(),
    GRANT_BONDS: frozenset(),
    MINT: frozenset({Permission.MINTER}),
    BONDED_POOL: frozenset({Permission.BURNER}),
    NOT_BONDED_POOL: frozenset({Permission.BURNER}),
    DISTRIBUTION: frozenset(),
    COMMUNITY_POOL: frozenset(),
    CHANNELS: frozenset(),
    GOV: frozenset({Permission.BURNER}),
    SERVICES: frozenset(),
    STORAGE: frozenset(),  # slashes go to the community pool: nothing is burned
    MARKET: frozenset(),
    HTLC: frozenset(),
}
MODULE_ADDRESSES: dict[bytes, str] = {module_address(n): n for n in MODULE_ACCOUNTS}


def has_permission(name: str, permission: Permission) -> bool:
    return permission in MODULE_ACCOUNTS.get(name, frozenset())
