"""Htlc state: locks by id, swap offers by id, each offerer's offer nonce, lists.

htlc/params                                -> CBOR HtlcParams
htlc/lock/<lock id 32>                     -> CBOR Lock (kept once settled: ids are never reused)
htlc/offer/<offer id 32>                   -> CBOR Offer (absent: never posted, or cancelled)
htlc/nonce/<offerer 20>                    -> u64 BE: the offerer's next offer nonce
htlc/bsi/<sender 20><id 32>, htlc/bsc/<sender 20>        -> a sender's open locks
htlc/bri/<recipient 20><id 32>, htlc/brc/<recipient 20>  -> a recipient's open locks
htlc/ooi/<id 32>, htlc/ooc                 -> the open (untaken) offers
htlc/oexp/<expires_at u64 BE><id 32>       -> 0x01: every offer, deleted at its expiry

A lock id is sha256("voxpop/htlc/lock" ‖ sender ‖ recipient ‖ hashlock), so a client computes
the id of a lock from the swap's terms. The uvox of open locks sit in the `htlc` module account.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import HtlcLockNotFoundError, HtlcOfferNotFoundError, InvalidGenesisError
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListIndex
from voxpop.chain.module_accounts import HTLC, module_address
from voxpop.chain.modules.bank import state as bank
from voxpop.chain.modules.bounds import param_int

PREFIX = b"htlc/"
PARAMS_KEY = b"htlc/params"
LOCK_PREFIX = b"htlc/lock/"
OFFER_PREFIX = b"htlc/offer/"
NONCE_PREFIX = b"htlc/nonce/"
EXPIRY_PREFIX = b"htlc/oexp/"
_QUEUED = b"\x01"
ADDRESS_LEN = 20
ID_LEN = 32
NONCE_LEN = 8
MODULE_ADDRESS = module_address(HTLC)

OPEN, CLAIMED, REFUNDED = 0, 1, 2
STATUS_NAMES = {OPEN: "open", CLAIMED: "claimed", REFUNDED: "refunded"}

LOCKS_BY_SENDER = ListIndex(
    index_prefix=b"htlc/bsi/",
    commit_prefix=b"htlc/bsc/",
    owner_len=ADDRESS_LEN,
    id_len=ID_LEN,
    max_items=256,
)
LOCKS_BY_RECIPIENT = ListIndex(
    index_prefix=b"htlc/bri/",
    commit_prefix=b"htlc/brc/",
    owner_len=ADDRESS_LEN,
    id_len=ID_LEN,
    max_items=256,
)
OPEN_OFFERS = ListIndex(
    index_prefix=b"htlc/ooi/",
    commit_prefix=b"htlc/ooc",
    owner_len=0,
    id_len=ID_LEN,
    max_items=1_024,
)


@dataclass(frozen=True, slots=True)
class HtlcParams:
    # The longest a lock may last, from the block it is made in
    max_lock_seconds: int = 30 * 86_400

    @classmethod
    def from_value(cls, value: Any) -> HtlcParams:
        """Params from genesis or state, within bounds. Raises InvalidGenesisError."""
        if not isinstance(value, dict) or set(value) != {"max_lock_seconds"}:
            raise InvalidGenesisError("htlc params need exactly ['max_lock_seconds']")
        return cls(param_int("htlc", "max_lock_seconds", value["max_lock_seconds"], 60, 1 << 32))

    def to_value(self) -> dict[str, Any]:
        return {"max_lock_seconds": self.max_lock_seconds}


LOCK_FIELDS = (
    "sender",
    "recipient",
    "amount",
    "hashlock",
    "timeout",
    "status",
    "preimage",
    "locked_at",
)


@dataclass(frozen=True, slots=True)
class Lock:
    sender: bytes
    recipient: bytes
    amount: int  # uvox held while open
    hashlock: bytes  # sha256 of the 32-byte secret
    timeout: int  # block time the refund opens at (claims are refused from then on)
    status: int  # OPEN, CLAIMED, REFUNDED
    preimage: bytes  # b"" until claimed
    locked_at: int  # block time of the Lock

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in LOCK_FIELDS}

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Lock:
        return cls(*(value[name] for name in LOCK_FIELDS))


OFFER_FIELDS = (
    "offerer",
    "side",
    "amount",
    "asset",
    "asset_amount",
    "other_address",
    "hashlock",
    "offerer_seconds",
    "taker_seconds",
    "expires_at",
    "taker",
    "taker_address",
    "taken_at",
)


@dataclass(frozen=True, slots=True)
class Offer:
    offerer: bytes
    side: str  # "sell": the offerer gives uvox; "buy": the offerer gives the other asset
    amount: int  # uvox
    asset: str
    asset_amount: str  # decimal, in the asset's smallest unit
    other_address: str  # the offerer's address on the other chain
    hashlock: bytes
    offerer_seconds: int
    taker_seconds: int
    expires_at: int
    taker: bytes  # b"" until taken
    taker_address: str  # the taker's address on the other chain ("" until taken)
    taken_at: int  # 0 until taken

    @property
    def is_taken(self) -> bool:
        return bool(self.taker)

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in OFFER_FIELDS}

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Offer:
        return cls(*(value[name] for name in OFFER_FIELDS))


# --- keys and ids -----------------------------------------------------------------------------


def compute_lock_id(sender: bytes, recipient: bytes, hashlock: bytes) -> bytes:
    return hashlib.sha256(b"voxpop/htlc/lock" + sender + recipient + hashlock).digest()


def compute_offer_id(chain_id: str, offerer: bytes, nonce: int) -> bytes:
    data = b"voxpop/htlc/offer" + chain_id.encode() + b"\x00" + offerer
    return hashlib.sha256(data + nonce.to_bytes(NONCE_LEN, "big")).digest()


def lock_key(lock_id: bytes) -> bytes:
    return LOCK_PREFIX + lock_id


def offer_key(offer_id: bytes) -> bytes:
    return OFFER_PREFIX + offer_id


def nonce_key(offerer: bytes) -> bytes:
    return NONCE_PREFIX + offerer


def expiry_key(expires_at: int, offer_id: bytes) -> bytes:
    return EXPIRY_PREFIX + expires_at.to_bytes(8, "big") + offer_id


# --- params -----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> HtlcParams:
    return HtlcParams.from_value(decode_state(raw))


def get_params(ctx: Context) -> HtlcParams:
    raw = ctx.get(PARAMS_KEY)
    return decode_params(raw) if raw else HtlcParams()


def set_params(ctx: Context, params: HtlcParams) -> None:
    ctx.set(PARAMS_KEY, encode(params.to_value()))


# --- locks ------------------------------------------------------------------------------------


def decode_lock(raw: bytes) -> Lock:
    """The value of `/htlc/lock`."""
    return Lock.from_value(decode_state(raw))


def find_lock(ctx: Context, lock_id: bytes) -> Lock | None:
    raw = ctx.get(lock_key(lock_id))
    return decode_lock(raw) if raw else None


def get_lock(ctx: Context, lock_id: bytes) -> Lock:
    """The lock `lock_id`. Raises HtlcLockNotFoundError."""
    lock = find_lock(ctx, lock_id)
    # Verify the lock is there
    if lock is None:
        raise HtlcLockNotFoundError(f"no lock {lock_id.hex()}")
    return lock


def set_lock(ctx: Context, lock_id: bytes, lock: Lock) -> None:
    ctx.set(lock_key(lock_id), encode(lock.to_value()))


def create_lock(ctx: Context, lock_id: bytes, lock: Lock) -> None:
    """Store a new open lock, list it, and take its amount from the sender into the htlc
    account. Raises ListFullError, InsufficientFundsError."""
    set_lock(ctx, lock_id, lock)
    LOCKS_BY_SENDER.add(ctx, lock.sender, lock_id)
    LOCKS_BY_RECIPIENT.add(ctx, lock.recipient, lock_id)
    bank.move(ctx, lock.sender, MODULE_ADDRESS, lock.amount)


def settle_lock(ctx: Context, lock_id: bytes, lock: Lock, status: int, preimage: bytes) -> bytes:
    """End an open lock, once: pay its amount to the recipient (CLAIMED) or back to the sender
    (REFUNDED), unlist it and keep its record; return who was paid."""
    to = lock.recipient if status == CLAIMED else lock.sender
    bank.move(ctx, MODULE_ADDRESS, to, lock.amount)
    set_lock(ctx, lock_id, replace(lock, status=status, preimage=preimage))
    LOCKS_BY_SENDER.remove(ctx, lock.sender, lock_id)
    LOCKS_BY_RECIPIENT.remove(ctx, lock.recipient, lock_id)
    return to


# --- offers -----------------------------------------------------------------------------------


def decode_offer(raw: bytes) -> Offer:
    """The value of `/htlc/offer`."""
    return Offer.from_value(decode_state(raw))


def get_offer(ctx: Context, offer_id: bytes) -> Offer:
    """The offer `offer_id`. Raises HtlcOfferNotFoundError."""
    raw = ctx.get(offer_key(offer_id))
    # Verify the offer is there (cancelled ones are not)
    if raw is None:
        raise HtlcOfferNotFoundError(f"no offer {offer_id.hex()}")
    return decode_offer(raw)


def set_offer(ctx: Context, offer_id: bytes, offer: Offer) -> None:
    ctx.set(offer_key(offer_id), encode(offer.to_value()))


def next_offer_id(ctx: Context, offerer: bytes) -> bytes:
    """The id of the offerer's next offer; the offerer's nonce moves past it, for good."""
    raw = ctx.get(nonce_key(offerer))
    nonce = int.from_bytes(raw, "big") if raw else 0
    ctx.set(nonce_key(offerer), (nonce + 1).to_bytes(NONCE_LEN, "big"))
    return compute_offer_id(ctx.block.chain_id, offerer, nonce)


def post_offer(ctx: Context, offer_id: bytes, offer: Offer) -> None:
    """Store, list and queue (for its expiry) a new offer. Raises ListFullError."""
    set_offer(ctx, offer_id, offer)
    OPEN_OFFERS.add(ctx, b"", offer_id)
    ctx.set(expiry_key(offer.expires_at, offer_id), _QUEUED)


def take_offer(ctx: Context, offer_id: bytes, offer: Offer) -> None:
    """Record the taker (the caller set it in `offer`); the offer leaves the open list."""
    set_offer(ctx, offer_id, offer)
    OPEN_OFFERS.remove(ctx, b"", offer_id)


def delete_offer(ctx: Context, offer_id: bytes, offer: Offer) -> None:
    ctx.delete(offer_key(offer_id))
    ctx.delete(expiry_key(offer.expires_at, offer_id))
    OPEN_OFFERS.remove(ctx, b"", offer_id)


def prune_expired_offers(ctx: Context) -> int:
    """Delete every offer (taken or not) whose expiry is at or before the block time: a taken
    offer's record is needed only until the offerer locks, which its tool does at once."""
    now = ctx.block.time_unix
    due = []
    for key, _ in ctx.iterate(EXPIRY_PREFIX):
        rest = key[len(EXPIRY_PREFIX) :]
        if int.from_bytes(rest[:8], "big") > now:
            break
        due.append(rest[8:])
    for offer_id in due:
        delete_offer(ctx, offer_id, get_offer(ctx, offer_id))
    return len(due)


# --- unmetered reads for queries, genesis and invariants --------------------------------------


def read_params(reader: KVReader) -> HtlcParams:
    raw = reader.get(PARAMS_KEY)
    return decode_params(raw) if raw else HtlcParams()


def read_locks(reader: KVReader) -> list[tuple[bytes, Lock]]:
    start = len(LOCK_PREFIX)
    return [(key[start:], decode_lock(raw)) for key, raw in reader.iterate(LOCK_PREFIX)]


def read_offers(reader: KVReader) -> list[tuple[bytes, Offer]]:
    start = len(OFFER_PREFIX)
    return [(key[start:], decode_offer(raw)) for key, raw in reader.iterate(OFFER_PREFIX)]


def read_expiry_queue(reader: KVReader) -> list[tuple[int, bytes]]:
    start = len(EXPIRY_PREFIX)
    return [
        (int.from_bytes(key[start : start + 8], "big"), key[start + 8 :])
        for key, _ in reader.iterate(EXPIRY_PREFIX)
    ]


def read_nonces(reader: KVReader) -> list[tuple[bytes, int]]:
    start = len(NONCE_PREFIX)
    return [(key[start:], int.from_bytes(raw, "big")) for key, raw in reader.iterate(NONCE_PREFIX)]
