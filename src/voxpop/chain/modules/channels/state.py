"""Channels state: payment channels by id, each payer's channel nonce, lists by payer and payee.

channels/params                          -> CBOR ChannelParams
channels/ch/<channel id 32>              -> CBOR Channel (absent: never opened, or ended)
channels/nonce/<payer 20>                -> u64 BE: the payer's next channel nonce (only grows)
channels/bpi/<payer 20><id 32>, channels/bpc/<payer 20>  -> the list of a payer's channels
channels/bei/<payee 20><id 32>, channels/bec/<payee 20>  -> the list of a payee's channels

The deposits not yet claimed or returned sit in the `channels` module account.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import ChannelNotFoundError, InvalidGenesisError
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListIndex
from voxpop.chain.module_accounts import CHANNELS, module_address
from voxpop.chain.modules.bank import state as bank
from voxpop.chain.modules.bounds import param_int
from voxpop.crypto.vouchers import CHANNEL_ID_SIZE, derive_channel_id

PREFIX = b"channels/"
PARAMS_KEY = b"channels/params"
CHANNEL_PREFIX = b"channels/ch/"
NONCE_PREFIX = b"channels/nonce/"
ADDRESS_LEN = 20
NONCE_LEN = 8
MODULE_ADDRESS = module_address(CHANNELS)

# A payee must always have time to claim after the payer starts settling: genesis refuses less
MIN_SETTLE_SECONDS = 3_600
MAX_SETTLE_SECONDS = 90 * 86_400
MAX_VOUCHERS_PER_CLAIM = 64  # the message declaration's own limit (messages.MAX_VOUCHERS)

# Each list's commitment is recomputed at every change (one iteration step per item), so lists
# are bounded. A payee whose list is full closes channels it no longer serves to make room.
CHANNELS_BY_PAYER = ListIndex(
    index_prefix=b"channels/bpi/",
    commit_prefix=b"channels/bpc/",
    owner_len=ADDRESS_LEN,
    id_len=CHANNEL_ID_SIZE,
    max_items=256,
)
CHANNELS_BY_PAYEE = ListIndex(
    index_prefix=b"channels/bei/",
    commit_prefix=b"channels/bec/",
    owner_len=ADDRESS_LEN,
    id_len=CHANNEL_ID_SIZE,
    max_items=1_024,
)


@dataclass(frozen=True, slots=True)
class ChannelParams:
    # How long a payee has to claim after the payer starts settling
    settle_seconds: int = 86_400
    # Vouchers one Claim may carry (at most the declaration's 64)
    max_vouchers_per_claim: int = MAX_VOUCHERS_PER_CLAIM
    # Gas charged per voucher signature, before it is verified (as a tx signature costs)
    gas_per_voucher: int = 1_000

    @classmethod
    def from_value(cls, value: Any) -> ChannelParams:
        """Params from genesis or state, each within its bounds. Raises InvalidGenesisError."""
        names = {"settle_seconds", "max_vouchers_per_claim", "gas_per_voucher"}
        if not isinstance(value, dict) or set(value) != names:
            raise InvalidGenesisError(f"channels params need exactly {sorted(names)}")
        return cls(
            param_int(
                "channels",
                "settle_seconds",
                value["settle_seconds"],
                MIN_SETTLE_SECONDS,
                MAX_SETTLE_SECONDS,
            ),
            param_int(
                "channels",
                "max_vouchers_per_claim",
                value["max_vouchers_per_claim"],
                1,
                MAX_VOUCHERS_PER_CLAIM,
            ),
            param_int("channels", "gas_per_voucher", value["gas_per_voucher"], 1, 10_000_000),
        )

    def to_value(self) -> dict[str, Any]:
        return {
            "settle_seconds": self.settle_seconds,
            "max_vouchers_per_claim": self.max_vouchers_per_claim,
            "gas_per_voucher": self.gas_per_voucher,
        }


CHANNEL_FIELDS = (
    "payer",
    "payee",
    "voucher_key",
    "deposit",
    "claimed",
    "settle_at",
    "opened_at",
)


@dataclass(frozen=True, slots=True)
class Channel:
    payer: bytes
    payee: bytes
    voucher_key: bytes  # Ed25519 public key that signs vouchers (chosen by the payer)
    deposit: int  # uvox put in, in all
    claimed: int  # uvox paid to the payee so far (<= deposit)
    settle_at: int  # 0: open; else the block time the settle window ends
    opened_at: int  # block time of the Open

    @property
    def unclaimed(self) -> int:
        return self.deposit - self.claimed

    def is_settling(self) -> bool:
        return self.settle_at != 0

    def is_window_ended(self, now: int) -> bool:
        """True once the settle window has ended: no more claims, the payer may collect."""
        return self.settle_at != 0 and now >= self.settle_at

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CHANNEL_FIELDS}

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Channel:
        return cls(*(value[name] for name in CHANNEL_FIELDS))


# --- keys -------------------------------------------------------------------------------------


def channel_key(channel_id: bytes) -> bytes:
    return CHANNEL_PREFIX + channel_id


def nonce_key(payer: bytes) -> bytes:
    return NONCE_PREFIX + payer


# --- params -----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> ChannelParams:
    return ChannelParams.from_value(decode_state(raw))


def get_params(ctx: Context) -> ChannelParams:
    raw = ctx.get(PARAMS_KEY)
    return decode_params(raw) if raw else ChannelParams()


def set_params(ctx: Context, params: ChannelParams) -> None:
    ctx.set(PARAMS_KEY, encode(params.to_value()))


# --- channels ---------------------------------------------------------------------------------


def decode_channel(raw: bytes) -> Channel:
    """The value of `/channels/channel`."""
    return Channel.from_value(decode_state(raw))


def find_channel(ctx: Context, channel_id: bytes) -> Channel | None:
    raw = ctx.get(channel_key(channel_id))
    return decode_channel(raw) if raw else None


def get_channel(ctx: Context, channel_id: bytes) -> Channel:
    """The channel `channel_id`. Raises ChannelNotFoundError."""
    channel = find_channel(ctx, channel_id)
    # Verify the channel is there (never opened, closed and collected ones are not)
    if channel is None:
        raise ChannelNotFoundError(f"no channel {channel_id.hex()}")
    return channel


def set_channel(ctx: Context, channel_id: bytes, channel: Channel) -> None:
    ctx.set(channel_key(channel_id), encode(channel.to_value()))


def get_nonce(ctx: Context, payer: bytes) -> int:
    raw = ctx.get(nonce_key(payer))
    return int.from_bytes(raw, "big") if raw else 0


def next_channel_id(ctx: Context, payer: bytes) -> bytes:
    """The id of the payer's next channel; the payer's nonce moves past it, for good."""
    nonce = get_nonce(ctx, payer)
    ctx.set(nonce_key(payer), (nonce + 1).to_bytes(NONCE_LEN, "big"))
    return derive_channel_id(ctx.block.chain_id, payer, nonce)


def create_channel(ctx: Context, channel_id: bytes, channel: Channel) -> None:
    """Store a new channel, list it under its payer and payee, and take its deposit from the
    payer into the channels account. Raises ListFullError, InsufficientFundsError."""
    set_channel(ctx, channel_id, channel)
    CHANNELS_BY_PAYER.add(ctx, channel.payer, channel_id)
    CHANNELS_BY_PAYEE.add(ctx, channel.payee, channel_id)
    bank.move(ctx, channel.payer, MODULE_ADDRESS, channel.deposit)


def add_deposit(ctx: Context, channel_id: bytes, channel: Channel, amount: int) -> Channel:
    """Move `amount` more from the payer into the channel. Raises InsufficientFundsError."""
    bank.move(ctx, channel.payer, MODULE_ADDRESS, amount)
    grown = replace(channel, deposit=channel.deposit + amount)
    set_channel(ctx, channel_id, grown)
    return grown


def pay_claim(ctx: Context, channel_id: bytes, channel: Channel, amount: int) -> int:
    """Raise the channel's claimed total to `amount` (the caller checked claimed < amount <=
    deposit), paying the difference to the payee; return the difference."""
    delta = amount - channel.claimed
    bank.move(ctx, MODULE_ADDRESS, channel.payee, delta)
    set_channel(ctx, channel_id, replace(channel, claimed=amount))
    return delta


def start_settling(ctx: Context, channel_id: bytes, channel: Channel, settle_at: int) -> None:
    set_channel(ctx, channel_id, replace(channel, settle_at=settle_at))


def end_channel(ctx: Context, channel_id: bytes, channel: Channel) -> int:
    """Return the unclaimed deposit to the payer and remove the channel and its list entries;
    return what went back. Its id is never used again (the payer's nonce only grows)."""
    refund = channel.unclaimed
    bank.move(ctx, MODULE_ADDRESS, channel.payer, refund)
    ctx.delete(channel_key(channel_id))
    CHANNELS_BY_PAYER.remove(ctx, channel.payer, channel_id)
    CHANNELS_BY_PAYEE.remove(ctx, channel.payee, channel_id)
    return refund


# --- unmetered reads for queries, genesis and invariants --------------------------------------


def read_params(reader: KVReader) -> ChannelParams:
    raw = reader.get(PARAMS_KEY)
    return decode_params(raw) if raw else ChannelParams()


def read_channels(reader: KVReader) -> list[tuple[bytes, Channel]]:
    """(id, channel) of every channel, by id."""
    start = len(CHANNEL_PREFIX)
    return [(key[start:], decode_channel(raw)) for key, raw in reader.iterate(CHANNEL_PREFIX)]


def read_nonces(reader: KVReader) -> list[tuple[bytes, int]]:
    start = len(NONCE_PREFIX)
    return [(key[start:], int.from_bytes(raw, "big")) for key, raw in reader.iterate(NONCE_PREFIX)]
