"""Services state: providers' offers, listed by kind, their unbonding queue and reputation facts.

services/params                                      -> CBOR ServicesParams
services/offer/<provider 20><kind>                   -> CBOR Offer
services/ol/<kind, NUL-padded to 16><provider 20>    -> 0x01: active offers listed by kind
services/olc/<kind, NUL-padded to 16>                -> CBOR [count, root]: that list's commitment
services/unbond/<time u64 BE><provider 20><kind>     -> 0x01: a leaving offer's stake returns then
services/rep/<provider 20>                           -> CBOR Reputation
services/payer/<provider 20><payer 20>               -> CBOR uvox this payer settled to the provider

A kind is 1 to 16 bytes of `a-z 0-9 _ -`, so the padded kind is a fixed-length list owner and no
kind's key is a prefix of another's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import InvalidGenesisError, InvalidQueryError
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListIndex, ListRoute
from voxpop.chain.module_accounts import COMMUNITY_POOL, SERVICES, module_address
from voxpop.chain.modules.bank import state as bank
from voxpop.chain.modules.bounds import MAX_DURATION_SECONDS, MAX_UINT64, param_int

NAME = SERVICES
MODULE_ADDRESS = module_address(NAME)  # holds every offer's stake, leaving ones included
PREFIX = b"services/"
PARAMS_KEY = b"services/params"
OFFER_PREFIX = b"services/offer/"
UNBOND_PREFIX = b"services/unbond/"
REPUTATION_PREFIX = b"services/rep/"
PAYER_PREFIX = b"services/payer/"
ADDRESS_LEN = 20
TIME_LEN = 8
MAX_KIND_LEN = 16
KIND_PATTERN = re.compile(r"[a-z0-9_-]{1,16}")
MAX_OFFERS_PER_KIND = 1_000
MAX_KINDS = 64
MAX_ENDPOINT_LEN = 1_024  # the most `max_endpoint_len` may be
MAX_LANGUAGES = 64  # the most `max_languages` may be
MAX_LANGUAGE_LEN = 16
LANGUAGE_PATTERN = re.compile(r"[a-z0-9-]{1,16}")
MIN_UNBONDING_SECONDS = 3_600
_QUEUED = b"\x01"

# Active offers listed by kind (chain/listing.py); a leaving offer is no longer listed
OFFERS_BY_KIND = ListIndex(
    index_prefix=b"services/ol/",
    commit_prefix=b"services/olc/",
    owner_len=MAX_KIND_LEN,
    id_len=ADDRESS_LEN,
    max_items=MAX_OFFERS_PER_KIND,
)


def is_kind(text: str) -> bool:
    return KIND_PATTERN.fullmatch(text) is not None


def is_language(text: str) -> bool:
    return LANGUAGE_PATTERN.fullmatch(text) is not None


def price_unit(kind: str) -> str:
    """What an offer's price pays for: a call, or (stt) each started 10 seconds of audio."""
    return "10s_audio" if kind == "stt" else "call"


def kind_owner(kind: str) -> bytes:
    """The list owner of `kind`: its bytes padded with NUL to MAX_KIND_LEN."""
    return kind.encode().ljust(MAX_KIND_LEN, b"\0")


@dataclass(frozen=True, slots=True)
class ServicesParams:
    # reencrypt: the privacy nodes of the consent module (voxpop privacy)
    kinds: tuple[str, ...] = ("stt", "weather", "knowledge", "geolocation", "echo", "reencrypt")
    # 1,000 VOX: enough that a provider has something to lose, little next to a validator's bond
    min_stake: int = 1_000_000_000
    unbonding_seconds: int = 7 * 86_400
    max_endpoint_len: int = 256
    max_languages: int = 16

    @classmethod
    def from_value(cls, value: Any) -> ServicesParams:
        """Params from genesis, checked in full. Raises InvalidGenesisError."""
        names = {"kinds", "min_stake", "unbonding_seconds", "max_endpoint_len", "max_languages"}
        if not isinstance(value, dict) or set(value) != names:
            raise InvalidGenesisError(f"services params need exactly {sorted(names)}")
        kinds = value["kinds"]
        # Verify the kinds: a sorted-unique list of well-formed names, bounded
        if (
            not isinstance(kinds, list)
            or not 1 <= len(kinds) <= MAX_KINDS
            or not all(isinstance(k, str) and is_kind(k) for k in kinds)
            or len(set(kinds)) != len(kinds)
        ):
            raise InvalidGenesisError(
                f"services kinds must be 1 to {MAX_KINDS} distinct names of 1 to "
                f"{MAX_KIND_LEN} characters a-z 0-9 _ -"
            )
        return cls(
            tuple(kinds),
            param_int(NAME, "min_stake", value["min_stake"], 1, MAX_UINT64),
            param_int(
                NAME,
                "unbonding_seconds",
                value["unbonding_seconds"],
                MIN_UNBONDING_SECONDS,
                MAX_DURATION_SECONDS,
            ),
            param_int(NAME, "max_endpoint_len", value["max_endpoint_len"], 16, MAX_ENDPOINT_LEN),
            param_int(NAME, "max_languages", value["max_languages"], 1, MAX_LANGUAGES),
        )

    def to_value(self) -> dict[str, Any]:
        return {
            "kinds": list(self.kinds),
            "min_stake": self.min_stake,
            "unbonding_seconds": self.unbonding_seconds,
            "max_endpoint_len": self.max_endpoint_len,
            "max_languages": self.max_languages,
        }


@dataclass(frozen=True, slots=True)
class Offer:
    """One provider's offer of one kind of service."""

    endpoint: str  # http(s) URL of the provider's gateway
    price: int  # uvox per call; for `stt` per started 10 seconds of audio
    languages: tuple[str, ...]  # tags such as `en-us`, or regions
    signing_key: bytes  # Ed25519 public key that signs the gateway's receipts
    stake: int  # uvox locked in the services module account
    registered_at: int  # block time
    leaving_at: int = 0  # 0 = active; else the block time the stake returns

    def to_value(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "price": self.price,
            "languages": list(self.languages),
            "signing_key": self.signing_key,
            "stake": self.stake,
            "registered_at": self.registered_at,
            "leaving_at": self.leaving_at,
        }

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Offer:
        return cls(
            value["endpoint"],
            value["price"],
            tuple(value["languages"]),
            value["signing_key"],
            value["stake"],
            value["registered_at"],
            value["leaving_at"],
        )


OFFER_FIELDS = frozenset(
    {"endpoint", "price", "languages", "signing_key", "stake", "registered_at", "leaving_at"}
)


@dataclass(frozen=True, slots=True)
class Reputation:
    """On-chain facts about a provider. Sums saturate at 2^64-1 (value can cycle through
    channels, so a sum is not bounded by the supply)."""

    settled: int = 0  # uvox settled to it through channels, all payers
    payers: int = 0  # distinct payers that settled a non-zero amount
    first_settled: int = 0  # block time of the first settlement (0 = none yet)
    last_settled: int = 0
    stake: int = 0  # sum of its active offers' stakes
    first_registered: int = 0  # block time of its first offer (0 = never registered)
    slashes: int = 0  # times a module slashed one of its offers (consent's misuse reports)

    def to_value(self) -> dict[str, Any]:
        return {
            "settled": self.settled,
            "payers": self.payers,
            "first_settled": self.first_settled,
            "last_settled": self.last_settled,
            "stake": self.stake,
            "first_registered": self.first_registered,
            "slashes": self.slashes,
        }

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Reputation:
        return cls(**{name: value[name] for name in REPUTATION_FIELDS})


REPUTATION_FIELDS = (
    "settled",
    "payers",
    "first_settled",
    "last_settled",
    "stake",
    "first_registered",
    "slashes",
)


# --- keys -------------------------------------------------------------------------------------


def offer_key(provider: bytes, kind: str) -> bytes:
    return OFFER_PREFIX + provider + kind.encode()


def listed_offer_key(owner: bytes, provider: bytes) -> bytes:
    """The offer an item of the list by kind stands for (`owner` padded or not)."""
    return OFFER_PREFIX + provider + owner.rstrip(b"\0")


def unbond_key(time: int, provider: bytes, kind: str) -> bytes:
    return UNBOND_PREFIX + time.to_bytes(TIME_LEN, "big") + provider + kind.encode()


def reputation_key(provider: bytes) -> bytes:
    return REPUTATION_PREFIX + provider


def payer_key(provider: bytes, payer: bytes) -> bytes:
    return PAYER_PREFIX + provider + payer


@dataclass(frozen=True, slots=True)
class KindListRoute(ListRoute):
    """The list of offers by kind: query data is the kind's text (`stt`), padded here to the
    fixed-length owner the index keeps."""

    def owner(self, data: bytes) -> bytes:
        # Verify the query names one well-formed kind
        text = data.decode("ascii", errors="replace")
        if not is_kind(text):
            raise InvalidQueryError("query data must be a service kind (1 to 16 of a-z 0-9 _ -)")
        return kind_owner(text)


# --- params -----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> ServicesParams:
    return ServicesParams.from_value(decode_state(raw))


def get_params(ctx: Context) -> ServicesParams:
    raw = ctx.get(PARAMS_KEY)
    return decode_params(raw) if raw else ServicesParams()


def set_params(ctx: Context, params: ServicesParams) -> None:
    ctx.set(PARAMS_KEY, encode(params.to_value()))


# --- offers -----------------------------------------------------------------------------------


def decode_offer(raw: bytes) -> Offer:
    """An offer this chain stored (checked when it was written: not checked again)."""
    return Offer.from_value(decode_state(raw))


def get_offer(ctx: Context, provider: bytes, kind: str) -> Offer | None:
    raw = ctx.get(offer_key(provider, kind))
    return decode_offer(raw) if raw else None


def set_offer(ctx: Context, provider: bytes, kind: str, offer: Offer) -> None:
    ctx.set(offer_key(provider, kind), encode(offer.to_value()))


def delete_offer(ctx: Context, provider: bytes, kind: str) -> None:
    ctx.delete(offer_key(provider, kind))


def list_offer(ctx: Context, provider: bytes, kind: str) -> None:
    """Add the offer to the list of its kind. Raises ListFullError."""
    OFFERS_BY_KIND.add(ctx, kind_owner(kind), provider)


def unlist_offer(ctx: Context, provider: bytes, kind: str) -> None:
    OFFERS_BY_KIND.remove(ctx, kind_owner(kind), provider)


def queue_unbonding(ctx: Context, time: int, provider: bytes, kind: str) -> None:
    ctx.set(unbond_key(time, provider, kind), _QUEUED)


def pop_matured(ctx: Context, now: int) -> list[tuple[bytes, str]]:
    """Remove and return (provider, kind) of every queued offer whose stake returns by `now`,
    in queue order."""
    matured: list[tuple[bytes, str]] = []
    keys: list[bytes] = []
    start = len(UNBOND_PREFIX)
    for key, _ in ctx.iterate(UNBOND_PREFIX):
        if int.from_bytes(key[start : start + TIME_LEN], "big") > now:
            break  # keys ascend by time
        rest = key[start + TIME_LEN :]
        matured.append((rest[:ADDRESS_LEN], rest[ADDRESS_LEN:].decode()))
        keys.append(key)
    for key in keys:
        ctx.delete(key)
    return matured


# --- reputation -------------------------------------------------------------------------------


def get_reputation(ctx: Context, provider: bytes) -> Reputation:
    raw = ctx.get(reputation_key(provider))
    return Reputation.from_value(decode_state(raw)) if raw else Reputation()


def set_reputation(ctx: Context, provider: bytes, reputation: Reputation) -> None:
    ctx.set(reputation_key(provider), encode(reputation.to_value()))


def _saturating_add(a: int, b: int) -> int:
    return min(a + b, MAX_UINT64)


def record_settlement(ctx: Context, provider: bytes, payer: bytes, amount: int) -> None:
    """Count `amount` uvox settled by `payer` to `provider` through a channel, in the
    provider's reputation facts: value settled, distinct payers, first and last settlement
    times. A no-op for amount 0. Called by the channels module on each claim."""
    if amount == 0:
        return
    now = ctx.block.time_unix
    rep = get_reputation(ctx, provider)
    key = payer_key(provider, payer)
    raw = ctx.get(key)
    from_payer = decode_state(raw) if raw else 0
    set_settled_by(ctx, provider, payer, _saturating_add(from_payer, amount))
    set_reputation(
        ctx,
        provider,
        replace(
            rep,
            settled=_saturating_add(rep.settled, amount),
            payers=rep.payers + (1 if raw is None else 0),
            first_settled=rep.first_settled or now,
            last_settled=now,
        ),
    )


def get_settled_by(ctx: Context, provider: bytes, payer: bytes) -> int:
    raw = ctx.get(payer_key(provider, payer))
    return int(decode_state(raw)) if raw else 0


def set_settled_by(ctx: Context, provider: bytes, payer: bytes, amount: int) -> None:
    ctx.set(payer_key(provider, payer), encode(amount))


# --- slashing ---------------------------------------------------------------------------------

BPS = 10_000
COMMUNITY_POOL_ADDRESS = module_address(COMMUNITY_POOL)


def slash(
    ctx: Context,
    provider: bytes,
    kind: str,
    fraction_bps: int,
    *,
    bounty_to: bytes | None = None,
    bounty_bps: int = 0,
) -> int:
    """Take `fraction_bps` of the stake of the provider's `kind` offer (a leaving one too: the
    unbonding period exists so misbehavior can still be punished), count the slash in its
    reputation, and return the uvox taken. `bounty_bps` of them go to `bounty_to`, the rest to
    the community pool (nothing is burned, as storage's slashes). No offer: only the reputation
    counts it, and 0 is returned. Exported for other modules (consent)."""
    offer = get_offer(ctx, provider, kind)
    rep = get_reputation(ctx, provider)
    taken = offer.stake * fraction_bps // BPS if offer is not None else 0
    if offer is not None and taken:
        set_offer(ctx, provider, kind, replace(offer, stake=offer.stake - taken))
        bounty = taken * bounty_bps // BPS if bounty_to is not None else 0
        if bounty and bounty_to is not None:
            bank.move(ctx, MODULE_ADDRESS, bounty_to, bounty)
        bank.move(ctx, MODULE_ADDRESS, COMMUNITY_POOL_ADDRESS, taken - bounty)
        if not offer.leaving_at:  # the reputation's stake counts active offers only
            rep = replace(rep, stake=rep.stake - taken)
    set_reputation(ctx, provider, replace(rep, slashes=rep.slashes + 1))
    return taken


# --- unmetered reads for genesis export and invariants ----------------------------------------


def read_params(reader: KVReader) -> ServicesParams:
    raw = reader.get(PARAMS_KEY)
    return decode_params(raw) if raw else ServicesParams()


def iter_offers(reader: KVReader) -> list[tuple[bytes, str, Offer]]:
    """(provider, kind, offer) of every offer, leaving ones included, by provider then kind."""
    start = len(OFFER_PREFIX)
    return [
        (key[start : start + ADDRESS_LEN], key[start + ADDRESS_LEN :].decode(), decode_offer(raw))
        for key, raw in reader.iterate(OFFER_PREFIX)
    ]


def iter_reputations(reader: KVReader) -> list[tuple[bytes, Reputation]]:
    start = len(REPUTATION_PREFIX)
    return [
        (key[start:], Reputation.from_value(decode_state(raw)))
        for key, raw in reader.iterate(REPUTATION_PREFIX)
    ]


def iter_payers(reader: KVReader) -> list[tuple[bytes, bytes, int]]:
    """(provider, payer, uvox settled) of every payer that settled to a provider."""
    start = len(PAYER_PREFIX)
    return [
        (key[start : start + ADDRESS_LEN], key[start + ADDRESS_LEN :], int(decode_state(raw)))
        for key, raw in reader.iterate(PAYER_PREFIX)
    ]


def iter_unbonding(reader: KVReader) -> list[tuple[int, bytes, str]]:
    start = len(UNBOND_PREFIX)
    out = []
    for key, _ in reader.iterate(UNBOND_PREFIX):
        rest = key[start + TIME_LEN :]
        time = int.from_bytes(key[start : start + TIME_LEN], "big")
        out.append((time, rest[:ADDRESS_LEN], rest[ADDRESS_LEN:].decode()))
    return out
