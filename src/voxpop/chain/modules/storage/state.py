"""Storage state: providers, deals with their placements, each provider's dense list of confirmed
placements (what challenges draw from), challenges per provider and epoch, faults, expiries.

storage/params                                    -> CBOR StorageParams
storage/p/<provider 20>                           -> CBOR Provider
storage/d/<object id 32>                          -> CBOR Deal (with its n placements)
storage/pli/<provider 20>, storage/plc/           -> the list of all registered providers
storage/doi/<owner 20><object id 32>, storage/doc/<owner 20>
                                                  -> the list of an owner's deals
storage/ppi/<provider 20><object id 32><shard u8>, storage/ppc/<provider 20>
                                                  -> the list of a provider's placements
storage/act/<provider 20><position u32 BE>        -> <object id 32><shard u8>: confirmed placement
storage/actn/<provider 20>                        -> u32 BE: how many (absent: none)
storage/actp/<provider 20><object id 32><shard u8> -> u32 BE: its position in that list
storage/ch/<provider 20><epoch u64 BE>            -> CBOR Challenges of the provider in that epoch
storage/chq/<epoch u64 BE><provider 20>           -> 0x01: challenges still to be judged
storage/f/<provider 20><epoch u64 BE>             -> 0x01: the provider faulted in that epoch
storage/end/<epoch u64 BE><object id 32>          -> 0x01: the deal ends at that epoch's start

The storage module account holds every provider's collateral and every placement's escrow not
yet paid to its provider or returned to the owner.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import (
    InvalidGenesisError,
    StorageDealNotFoundError,
    StorageNotPlacedError,
    StorageProviderNotFoundError,
)
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListIndex
from voxpop.chain.module_accounts import COMMUNITY_POOL, STORAGE, module_address
from voxpop.chain.modules.bank import state as bank
from voxpop.chain.modules.bounds import MAX_UINT64, param_int
from voxpop.chain.modules.storage.messages import MAX_LEAF, MAX_N, MAX_PROOFS

NAME = STORAGE
MODULE_ADDRESS = module_address(STORAGE)
COMMUNITY_POOL_ADDRESS = module_address(COMMUNITY_POOL)
PREFIX = b"storage/"
PARAMS_KEY = b"storage/params"
PROVIDER_PREFIX = b"storage/p/"
DEAL_PREFIX = b"storage/d/"
ACTIVE_PREFIX = b"storage/act/"
ACTIVE_COUNT_PREFIX = b"storage/actn/"
ACTIVE_POS_PREFIX = b"storage/actp/"
CHALLENGE_PREFIX = b"storage/ch/"
CHALLENGE_QUEUE_PREFIX = b"storage/chq/"
FAULT_PREFIX = b"storage/f/"
END_PREFIX = b"storage/end/"
ADDRESS_LEN = 20
OBJECT_ID_LEN = 32
EPOCH_LEN = 8
POS_LEN = 4
BPS = 10_000
GIB = 1 << 30
CHALLENGE_DOMAIN = b"voxpop/storage/challenge"
_PRESENT = b"\x01"
# Gas a proof costs on top of its reads: one sha256 per path step and the leaf's (as a
# signature check costs 1,000)
GAS_PER_PROOF = 1_000
GAS_PER_PATH_STEP = 50

PENDING = "pending"  # placed; the provider has not confirmed it holds the shard
ACTIVE = "active"  # confirmed: challenged each epoch, paid for each epoch proven
REPAIR = "repair"  # its provider missed a challenge on it: the owner may move it
GONE = "gone"  # shown (never stored) for a placement whose provider is not registered
STATUSES = (PENDING, ACTIVE, REPAIR)

# Lists (chain/listing.py): each change recomputes its commitment, so they are bounded
PROVIDERS = ListIndex(
    index_prefix=b"storage/pli/",
    commit_prefix=b"storage/plc/",
    owner_len=0,
    id_len=ADDRESS_LEN,
    max_items=4_096,
)
DEALS_BY_OWNER = ListIndex(
    index_prefix=b"storage/doi/",
    commit_prefix=b"storage/doc/",
    owner_len=ADDRESS_LEN,
    id_len=OBJECT_ID_LEN,
    max_items=1_024,
)
PLACEMENTS_BY_PROVIDER = ListIndex(
    index_prefix=b"storage/ppi/",
    commit_prefix=b"storage/ppc/",
    owner_len=ADDRESS_LEN,
    id_len=OBJECT_ID_LEN + 1,
    max_items=4_096,
)


@dataclass(frozen=True, slots=True)
class StorageParams:
    # Blocks per epoch: challenges are drawn at an epoch's first block (fixed after genesis)
    epoch_blocks: int = 100
    # Blocks after an epoch's start by which its challenges must be proven (< epoch_blocks)
    proof_deadline_blocks: int = 50
    # Challenges per provider per epoch (see the README for the sizing)
    challenges_per_epoch: int = 16
    # Bytes per Merkle leaf: what one challenge reads and one proof carries. 1 KiB: the 16
    # answers of an epoch fit one Prove tx (max_tx_bytes 32 KiB) even for a 1 GiB shard
    # (28,288 bytes); 4 KiB took three txs of 73 KB in all (README, on-chain bytes)
    leaf_size: int = 1_024
    # Collateral a provider needs to take new shards (100 VOX)
    min_collateral: int = 100_000_000
    # Share of its collateral a provider loses per faulted epoch
    slash_fraction_bps: int = 500
    # Blocks a provider has to confirm a placed shard before the owner may move it
    confirm_blocks: int = 100
    max_shard_size: int = GIB
    max_n: int = MAX_N

    @classmethod
    def from_value(cls, value: Any) -> StorageParams:
        """Params from genesis, state or governance, each within its bounds. Raises
        InvalidGenesisError."""
        names = set(StorageParams.__dataclass_fields__)
        if not isinstance(value, dict) or set(value) != names:
            raise InvalidGenesisError(f"storage params need exactly {sorted(names)}")
        epoch = param_int(NAME, "epoch_blocks", value["epoch_blocks"], 2, 10_000_000)
        return cls(
            epoch,
            param_int(NAME, "proof_deadline_blocks", value["proof_deadline_blocks"], 1, epoch - 1),
            param_int(NAME, "challenges_per_epoch", value["challenges_per_epoch"], 1, MAX_PROOFS),
            param_int(NAME, "leaf_size", value["leaf_size"], 32, MAX_LEAF),
            param_int(NAME, "min_collateral", value["min_collateral"], 1, MAX_UINT64),
            param_int(NAME, "slash_fraction_bps", value["slash_fraction_bps"], 0, BPS),
            param_int(NAME, "confirm_blocks", value["confirm_blocks"], 1, 10_000_000),
            param_int(NAME, "max_shard_size", value["max_shard_size"], 1, 1 << 40),
            param_int(NAME, "max_n", value["max_n"], 2, MAX_N),
        )

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in StorageParams.__dataclass_fields__}

    def epoch_of(self, height: int) -> int:
        return height // self.epoch_blocks


PROVIDER_FIELDS = (
    "endpoint",
    "capacity",
    "price",
    "collateral",
    "used",
    "faults",
    "proven",
    "registered_at",
)


@dataclass(frozen=True, slots=True)
class Provider:
    endpoint: str
    capacity: int  # bytes it offers
    price: int  # uvox per GiB per epoch, for new placements
    collateral: int  # uvox in the storage account, slashed on faults
    used: int  # bytes of the shards placed with it (pending ones included)
    faults: int  # epochs it failed its challenges (reputation)
    proven: int  # epochs it answered all its challenges (reputation)
    registered_at: int  # height

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PROVIDER_FIELDS}

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Provider:
        return cls(*(value[name] for name in PROVIDER_FIELDS))


PLACEMENT_FIELDS = (
    "provider",
    "root",
    "status",
    "escrow",
    "paid",
    "term_start",
    "active_from",
    "settled",
    "placed_at",
)


@dataclass(frozen=True, slots=True)
class Placement:
    provider: bytes
    root: bytes  # Merkle root of the shard (never changes: a repaired shard is byte-exact)
    status: str  # pending | active | repair
    escrow: int  # uvox put in for this provider's term
    paid: int  # of which paid to the provider so far
    term_start: int  # first epoch of its term (the term ends with the deal)
    active_from: int  # first epoch it was confirmed for (0: pending)
    settled: int  # next epoch to settle (paid, or forfeited)
    placed_at: int  # height it was placed (confirm_blocks count from there)

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PLACEMENT_FIELDS}

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Placement:
        return cls(*(value[name] for name in PLACEMENT_FIELDS))


DEAL_FIELDS = (
    "owner",
    "header_hash",
    "size",
    "shard_size",
    "k",
    "n",
    "leaf_size",
    "start_epoch",
    "end_epoch",
    "max_price",
)


@dataclass(frozen=True, slots=True)
class Deal:
    owner: bytes
    header_hash: bytes  # sha256 of the object header kept by the storage nodes
    size: int  # ciphertext bytes
    shard_size: int
    k: int
    n: int
    leaf_size: int
    start_epoch: int  # first epoch of the term
    end_epoch: int  # the deal ends at this epoch's first block
    max_price: int
    placements: tuple[Placement, ...] = field(default=())

    @property
    def leaf_count(self) -> int:
        return -(-self.shard_size // self.leaf_size)

    def held(self) -> int:
        """uvox of this deal still in the storage account."""
        return sum(p.escrow - p.paid for p in self.placements)

    def with_placement(self, index: int, placement: Placement) -> Deal:
        placements = list(self.placements)
        placements[index] = placement
        return replace(self, placements=tuple(placements))

    def to_value(self) -> dict[str, Any]:
        value = {name: getattr(self, name) for name in DEAL_FIELDS}
        value["placements"] = [p.to_value() for p in self.placements]
        return value

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Deal:
        placements = tuple(Placement.from_value(p) for p in value["placements"])
        return cls(**{name: value[name] for name in DEAL_FIELDS}, placements=placements)


@dataclass(frozen=True, slots=True)
class Challenges:
    """A provider's challenges of one epoch: (object id, shard index, leaf index) each, whether
    each was proven, and whether the epoch was judged."""

    items: tuple[tuple[bytes, int, int], ...]
    proven: tuple[bool, ...]
    judged: bool = False

    def to_value(self) -> dict[str, Any]:
        return {
            "items": [list(i) for i in self.items],
            "proven": list(self.proven),
            "judged": self.judged,
        }

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Challenges:
        items = tuple((o, s, leaf) for o, s, leaf in value["items"])
        return cls(items, tuple(value["proven"]), value["judged"])


# --- keys -------------------------------------------------------------------------------------


def u64(n: int) -> bytes:
    return n.to_bytes(EPOCH_LEN, "big")


def provider_key(address: bytes) -> bytes:
    return PROVIDER_PREFIX + address


def deal_key(object_id: bytes) -> bytes:
    return DEAL_PREFIX + object_id


def placement_id(object_id: bytes, shard_index: int) -> bytes:
    return object_id + bytes([shard_index])


def challenge_key(provider: bytes, epoch: int) -> bytes:
    return CHALLENGE_PREFIX + provider + u64(epoch)


def fault_key(provider: bytes, epoch: int) -> bytes:
    return FAULT_PREFIX + provider + u64(epoch)


def end_key(epoch: int, object_id: bytes) -> bytes:
    return END_PREFIX + u64(epoch) + object_id


# --- params -----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> StorageParams:
    return StorageParams.from_value(decode_state(raw))


def get_params(reader: KVReader | Context) -> StorageParams:
    raw = reader.get(PARAMS_KEY)
    return decode_params(raw) if raw else StorageParams()


def set_params(ctx: Context, params: StorageParams) -> None:
    ctx.set(PARAMS_KEY, encode(params.to_value()))


# --- providers --------------------------------------------------------------------------------


def decode_provider(raw: bytes) -> Provider:
    """The value of `/storage/provider`."""
    return Provider.from_value(decode_state(raw))


def get_provider(reader: KVReader | Context, address: bytes) -> Provider | None:
    """The provider registered at `address`, or None (exported for other modules)."""
    raw = reader.get(provider_key(address))
    return decode_provider(raw) if raw else None


def require_provider(ctx: Context, address: bytes) -> Provider:
    """Raises StorageProviderNotFoundError."""
    provider = get_provider(ctx, address)
    # Verify the address is a registered provider
    if provider is None:
        raise StorageProviderNotFoundError("no storage provider is registered at this address")
    return provider


def set_provider(ctx: Context, address: bytes, provider: Provider) -> None:
    ctx.set(provider_key(address), encode(provider.to_value()))


def read_providers(reader: KVReader) -> list[tuple[bytes, Provider]]:
    start = len(PROVIDER_PREFIX)
    return [(k[start:], decode_provider(v)) for k, v in reader.iterate(PROVIDER_PREFIX)]


# --- deals ------------------------------------------------------------------------------------


def decode_deal(raw: bytes) -> Deal:
    """The value of `/storage/deal`."""
    return Deal.from_value(decode_state(raw))


def get_deal(reader: KVReader | Context, object_id: bytes) -> Deal | None:
    """The open deal of `object_id`, or None (exported for other modules)."""
    raw = reader.get(deal_key(object_id))
    return decode_deal(raw) if raw else None


def require_deal(ctx: Context, object_id: bytes) -> Deal:
    """Raises StorageDealNotFoundError."""
    deal = get_deal(ctx, object_id)
    # Verify the deal is open (never opened, closed and ended ones are gone)
    if deal is None:
        raise StorageDealNotFoundError(f"no open deal {object_id.hex()}")
    return deal


def placement_of(deal: Deal, provider: bytes) -> int:
    """The shard index `provider` holds in `deal`. Raises StorageNotPlacedError."""
    for i, p in enumerate(deal.placements):
        if p.provider == provider:
            return i
    raise StorageNotPlacedError("the provider holds no shard of this deal")


def set_deal(ctx: Context, object_id: bytes, deal: Deal) -> None:
    ctx.set(deal_key(object_id), encode(deal.to_value()))


def read_deals(reader: KVReader) -> list[tuple[bytes, Deal]]:
    start = len(DEAL_PREFIX)
    return [(k[start:], decode_deal(v)) for k, v in reader.iterate(DEAL_PREFIX)]


# --- escrow and pay ---------------------------------------------------------------------------


def compute_escrow(shard_size: int, price: int, epochs: int) -> int:
    """What one shard costs for `epochs` epochs: ceil(shard_size * price * epochs / 2^30)."""
    return -(-shard_size * price * epochs // GIB)


def compute_share(placement: Placement, end_epoch: int, start: int, stop: int) -> int:
    """The part of the placement's escrow that pays for epochs [start, stop) of its term: the
    escrow spread evenly over the term (epoch j's share is floor(E*(j+1)/T) - floor(E*j/T)), so
    the shares add up to the escrow exactly."""
    terms = end_epoch - placement.term_start
    a, b = start - placement.term_start, stop - placement.term_start
    return placement.escrow * b // terms - placement.escrow * a // terms


def faulted_epochs(reader: KVReader | Context, provider: bytes) -> list[int]:
    """The epochs `provider` faulted in, ascending (few: each costs it collateral)."""
    prefix = FAULT_PREFIX + provider
    return [int.from_bytes(k[len(prefix) :], "big") for k, _ in reader.iterate(prefix)]


def settle(ctx: Context, deal: Deal, placement: Placement, through: int) -> Placement:
    """Pay the provider for each epoch of its term before `through` not yet settled, that it was
    confirmed for and did not fault in; the other epochs' shares stay for the owner."""
    through = min(through, deal.end_epoch)
    if through <= placement.settled:
        return placement
    pay = 0
    if placement.active_from:
        start = max(placement.settled, placement.active_from)
        if start < through:
            pay = compute_share(placement, deal.end_epoch, start, through)
            for epoch in faulted_epochs(ctx, placement.provider):
                if epoch >= through:
                    break  # ascending
                if epoch >= start:
                    pay -= compute_share(placement, deal.end_epoch, epoch, epoch + 1)
    bank.move(ctx, MODULE_ADDRESS, placement.provider, pay)
    return replace(placement, paid=placement.paid + pay, settled=through)


# --- placements -------------------------------------------------------------------------------


def place(
    ctx: Context, deal: Deal, object_id: bytes, shard_index: int, placement: Placement
) -> None:
    """A new (pending) placement: list it, count its bytes against the provider's capacity, and
    take its escrow from the owner. Raises ListFullError, InsufficientFundsError."""
    provider = require_provider(ctx, placement.provider)
    set_provider(ctx, placement.provider, replace(provider, used=provider.used + deal.shard_size))
    PLACEMENTS_BY_PROVIDER.add(ctx, placement.provider, placement_id(object_id, shard_index))
    bank.move(ctx, deal.owner, MODULE_ADDRESS, placement.escrow)


def end_placement(
    ctx: Context, deal: Deal, object_id: bytes, shard_index: int, through: int
) -> tuple[int, int]:
    """The placement leaves: its provider is paid for what it earned before epoch `through`, the
    rest of its escrow returns to the owner, and it leaves every list. Returns (paid, refunded)."""
    placement = deal.placements[shard_index]
    settled = settle(ctx, deal, placement, through)
    refund = settled.escrow - settled.paid
    bank.move(ctx, MODULE_ADDRESS, deal.owner, refund)
    provider = get_provider(ctx, placement.provider)
    if provider is not None:
        set_provider(
            ctx, placement.provider, replace(provider, used=provider.used - deal.shard_size)
        )
    pid = placement_id(object_id, shard_index)
    PLACEMENTS_BY_PROVIDER.remove(ctx, placement.provider, pid)
    if placement.status != PENDING:
        deactivate(ctx, placement.provider, pid)
    return settled.paid - placement.paid, refund


def close_deal(ctx: Context, object_id: bytes, deal: Deal, through: int) -> tuple[int, int]:
    """End the deal: every placement leaves (see end_placement), the deal is deleted. Returns
    (paid to providers, refunded to the owner)."""
    paid = refunded = 0
    for i in range(deal.n):
        p, r = end_placement(ctx, deal, object_id, i, through)
        paid += p
        refunded += r
    ctx.delete(deal_key(object_id))
    ctx.delete(end_key(deal.end_epoch, object_id))
    DEALS_BY_OWNER.remove(ctx, deal.owner, object_id)
    return paid, refunded


# --- each provider's dense list of confirmed placements (what challenges draw from) ----------


def active_count(reader: KVReader | Context, provider: bytes) -> int:
    raw = reader.get(ACTIVE_COUNT_PREFIX + provider)
    return int.from_bytes(raw, "big") if raw else 0


def active_at(reader: KVReader | Context, provider: bytes, pos: int) -> bytes:
    raw = reader.get(ACTIVE_PREFIX + provider + pos.to_bytes(POS_LEN, "big"))
    assert raw is not None, "the dense list has no hole below its count"
    return raw


def _set_count(ctx: Context, provider: bytes, count: int) -> None:
    if count:
        ctx.set(ACTIVE_COUNT_PREFIX + provider, count.to_bytes(POS_LEN, "big"))
    else:
        ctx.delete(ACTIVE_COUNT_PREFIX + provider)


def activate(ctx: Context, provider: bytes, pid: bytes) -> None:
    """Append the placement `pid` to the provider's dense list."""
    count = active_count(ctx, provider)
    ctx.set(ACTIVE_PREFIX + provider + count.to_bytes(POS_LEN, "big"), pid)
    ctx.set(ACTIVE_POS_PREFIX + provider + pid, count.to_bytes(POS_LEN, "big"))
    _set_count(ctx, provider, count + 1)


def deactivate(ctx: Context, provider: bytes, pid: bytes) -> None:
    """Remove `pid` from the provider's dense list: the last entry moves into its position."""
    raw = ctx.get(ACTIVE_POS_PREFIX + provider + pid)
    if raw is None:
        return
    pos = int.from_bytes(raw, "big")
    last = active_count(ctx, provider) - 1
    if pos != last:
        moved = active_at(ctx, provider, last)
        ctx.set(ACTIVE_PREFIX + provider + raw, moved)
        ctx.set(ACTIVE_POS_PREFIX + provider + moved, raw)
    ctx.delete(ACTIVE_PREFIX + provider + last.to_bytes(POS_LEN, "big"))
    ctx.delete(ACTIVE_POS_PREFIX + provider + pid)
    _set_count(ctx, provider, last)


def read_active(reader: KVReader) -> dict[bytes, list[bytes]]:
    """Each provider's dense list, in position order."""
    out: dict[bytes, list[bytes]] = {}
    for key, value in reader.iterate(ACTIVE_PREFIX):
        out.setdefault(key[len(ACTIVE_PREFIX) :][:ADDRESS_LEN], []).append(value)
    return out


def iter_active_providers(reader: KVReader | Context) -> Iterator[tuple[bytes, int]]:
    """(provider, count) of every provider with confirmed placements, by address."""
    start = len(ACTIVE_COUNT_PREFIX)
    for key, raw in list(reader.iterate(ACTIVE_COUNT_PREFIX)):
        yield key[start:], int.from_bytes(raw, "big")


# --- challenges -------------------------------------------------------------------------------


def compute_challenge(seed: bytes, provider: bytes, epoch: int, j: int) -> tuple[int, int]:
    """(position in the dense list, leaf) numbers of challenge j, before reduction modulo the
    list length and the leaf count: the first and second 8 bytes of
    sha256("voxpop/storage/challenge" || seed || provider || epoch u64 BE || j u32 BE)."""
    digest = hashlib.sha256(
        CHALLENGE_DOMAIN + seed + provider + u64(epoch) + j.to_bytes(4, "big")
    ).digest()
    return int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:16], "big")


def decode_challenges(raw: bytes) -> Challenges:
    """The value of `/storage/challenges`."""
    return Challenges.from_value(decode_state(raw))


def get_challenges(reader: KVReader | Context, provider: bytes, epoch: int) -> Challenges | None:
    raw = reader.get(challenge_key(provider, epoch))
    return decode_challenges(raw) if raw else None


def set_challenges(ctx: Context, provider: bytes, epoch: int, challenges: Challenges) -> None:
    ctx.set(challenge_key(provider, epoch), encode(challenges.to_value()))


def read_challenges(reader: KVReader) -> list[tuple[bytes, int, Challenges]]:
    start = len(CHALLENGE_PREFIX)
    out = []
    for key, raw in reader.iterate(CHALLENGE_PREFIX):
        rest = key[start:]
        epoch = int.from_bytes(rest[ADDRESS_LEN:], "big")
        out.append((rest[:ADDRESS_LEN], epoch, decode_challenges(raw)))
    return out


def read_faults(reader: KVReader) -> list[tuple[bytes, int]]:
    start = len(FAULT_PREFIX)
    return [
        (k[start:][:ADDRESS_LEN], int.from_bytes(k[start:][ADDRESS_LEN:], "big"))
        for k, _ in reader.iterate(FAULT_PREFIX)
    ]


def read_params(reader: KVReader) -> StorageParams:
    return get_params(reader)


def iter_challenged(reader: KVReader | Context, epoch: int) -> Iterator[tuple[bytes, Challenges]]:
    """(provider, challenges) of every provider challenged in `epoch`, by address."""
    if epoch < 0:
        return
    for key, raw in list(reader.iterate(CHALLENGE_PREFIX)):
        rest = key[len(CHALLENGE_PREFIX) :]
        if int.from_bytes(rest[ADDRESS_LEN:], "big") == epoch:
            yield rest[:ADDRESS_LEN], decode_challenges(raw)
