"""The channels module: unidirectional payment channels, payer -> payee, paid off chain with
vouchers (crypto/vouchers.py) and settled on chain by the payee's claims."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.errors import InvalidGenesisError, InvalidQueryError
from voxpop.chain.fields import MAX_UINT64
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListRoute
from voxpop.chain.module import Invariant, Module, MsgRoute, ParamsSpec, address_query
from voxpop.chain.modules.bank import state as bank
from voxpop.chain.modules.channels import handlers, state
from voxpop.chain.modules.channels.messages import (
    MsgClaim,
    MsgClose,
    MsgCollect,
    MsgOpen,
    MsgSettle,
    MsgTopUp,
)
from voxpop.chain.modules.codec import addr_text, genesis_address, genesis_amount
from voxpop.crypto.vouchers import CHANNEL_ID_SIZE

GENESIS_FIELDS = {"params", "channels", "nonces"}
MAX_GENESIS_NONCE = 1 << 32
CHANNEL_JSON_FIELDS = {"id", *state.CHANNEL_FIELDS}


def _channel_query(data: bytes) -> bytes:
    """`/channels/channel`: data = channel id (32 bytes)."""
    # Verify one channel id
    if len(data) != CHANNEL_ID_SIZE:
        raise InvalidQueryError(f"query data must be a {CHANNEL_ID_SIZE}-byte channel id")
    return state.channel_key(data)


# What a payer's messages move into the channels account, for authz's spend limits
def _deposit_spent(ctx: Context, msg: MsgOpen) -> int:
    return msg.deposit


def _top_up_spent(ctx: Context, msg: MsgTopUp) -> int:
    return msg.amount


class ChannelsModule(Module):
    name = "channels"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(state.PARAMS_KEY, state.ChannelParams.from_value, state.ChannelParams)

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgOpen.TYPE: MsgRoute(MsgOpen, handlers.process_open, spend_of=_deposit_spent),
            MsgTopUp.TYPE: MsgRoute(MsgTopUp, handlers.process_top_up, spend_of=_top_up_spent),
            MsgClaim.TYPE: MsgRoute(MsgClaim, handlers.process_claim),
            MsgClose.TYPE: MsgRoute(MsgClose, handlers.process_close),
            MsgSettle.TYPE: MsgRoute(MsgSettle, handlers.process_settle),
            MsgCollect.TYPE: MsgRoute(MsgCollect, handlers.process_collect),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "channel": _channel_query,
            "nonce": address_query(state.nonce_key, "payer"),
            "params": lambda _: state.PARAMS_KEY,
        }

    def list_routes(self) -> Mapping[str, ListRoute]:
        return {
            "by_payer": ListRoute(state.CHANNELS_BY_PAYER, lambda _, cid: state.channel_key(cid)),
            "by_payee": ListRoute(state.CHANNELS_BY_PAYEE, lambda _, cid: state.channel_key(cid)),
        }

    def default_genesis(self) -> dict[str, Any]:
        return {"params": state.ChannelParams().to_value(), "channels": [], "nonces": []}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        # Verify the shape, the params' bounds, then each channel and nonce
        if set(data) != GENESIS_FIELDS:
            raise InvalidGenesisError(f"channels genesis needs exactly {sorted(GENESIS_FIELDS)}")
        if not isinstance(data["channels"], list) or not isinstance(data["nonces"], list):
            raise InvalidGenesisError("channels genesis: channels and nonces must be lists")
        state.set_params(ctx, state.ChannelParams.from_value(data["params"]))
        nonces: dict[bytes, int] = {}
        for i, entry in enumerate(data["nonces"]):
            where = f"channels.nonces[{i}]"
            if not isinstance(entry, dict) or set(entry) != {"payer", "nonce"}:
                raise InvalidGenesisError(f"{where} needs exactly payer and nonce")
            payer = genesis_address(entry["payer"], where)
            if payer in nonces:
                raise InvalidGenesisError(f"{where}: duplicate payer")
            nonce = entry["nonce"]
            # Verify a nonce far from 2^64, so that opening channels can never run out of ids
            if type(nonce) is not int or not 1 <= nonce <= MAX_GENESIS_NONCE:
                raise InvalidGenesisError(f"{where}.nonce must be 1 to {MAX_GENESIS_NONCE}")
            nonces[payer] = nonce
        held = 0
        seen: set[bytes] = set()
        for i, entry in enumerate(data["channels"]):
            where = f"channels.channels[{i}]"
            channel_id, channel = genesis_channel(entry, where)
            if channel_id in seen:
                raise InvalidGenesisError(f"{where}: duplicate channel id")
            seen.add(channel_id)
            # Verify the payer's nonce has moved past its channels (ids are never reused)
            if channel.payer not in nonces:
                raise InvalidGenesisError(f"{where}: its payer has no nonce")
            state.set_channel(ctx, channel_id, channel)
            state.CHANNELS_BY_PAYER.add(ctx, channel.payer, channel_id)
            state.CHANNELS_BY_PAYEE.add(ctx, channel.payee, channel_id)
            held += channel.unclaimed
        for payer, nonce in sorted(nonces.items()):
            ctx.set(state.nonce_key(payer), nonce.to_bytes(state.NONCE_LEN, "big"))
        # Verify the channels account (funded in bank's genesis) holds exactly what is unclaimed
        balance = bank.get_balance(ctx, state.MODULE_ADDRESS)
        if balance != held:
            raise InvalidGenesisError(
                f"channels: the module account holds {balance} uvox, the channels {held}"
            )

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        return {
            "params": state.read_params(reader).to_value(),
            "channels": [
                channel_json(channel_id, channel)
                for channel_id, channel in state.read_channels(reader)
            ],
            "nonces": [
                {"payer": addr_text(payer), "nonce": nonce}
                for payer, nonce in state.read_nonces(reader)
            ],
        }

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("channels/claimed-within-deposit", _claimed_within_deposit),
            Invariant("channels/module-balance", _module_balance),
            Invariant("channels/lists", _lists_match),
        ]


def channel_json(channel_id: bytes, channel: state.Channel) -> dict[str, Any]:
    """A channel as genesis files, the API and the CLI show it."""
    return {
        "id": channel_id.hex(),
        "payer": addr_text(channel.payer),
        "payee": addr_text(channel.payee),
        "voucher_key": channel.voucher_key.hex(),
        "deposit": channel.deposit,
        "claimed": channel.claimed,
        "settle_at": channel.settle_at,
        "opened_at": channel.opened_at,
    }


def genesis_channel(entry: Any, where: str) -> tuple[bytes, state.Channel]:
    """A channel from its JSON shape (`channel_json`), checked. Raises InvalidGenesisError."""
    if not isinstance(entry, dict) or set(entry) != CHANNEL_JSON_FIELDS:
        raise InvalidGenesisError(f"{where} needs exactly {sorted(CHANNEL_JSON_FIELDS)}")
    try:
        channel_id = bytes.fromhex(entry["id"])
        voucher_key = bytes.fromhex(entry["voucher_key"])
    except (TypeError, ValueError):
        raise InvalidGenesisError(f"{where}: id and voucher_key must be hex") from None
    if len(channel_id) != CHANNEL_ID_SIZE or len(voucher_key) != 32:
        raise InvalidGenesisError(f"{where}: id and voucher_key are 32 bytes each")
    payer = genesis_address(entry["payer"], f"{where}.payer")
    payee = genesis_address(entry["payee"], f"{where}.payee")
    deposit = genesis_amount(entry["deposit"], f"{where}.deposit")
    claimed = genesis_amount(entry["claimed"], f"{where}.claimed", allow_zero=True)
    for name in ("settle_at", "opened_at"):
        if type(entry[name]) is not int or not 0 <= entry[name] <= MAX_UINT64:
            raise InvalidGenesisError(f"{where}.{name} must be a 64-bit block time")
    # Verify what every channel on chain satisfies: two parties, no more claimed than deposited
    if payer == payee:
        raise InvalidGenesisError(f"{where}: payer and payee must differ")
    if claimed > deposit:
        raise InvalidGenesisError(f"{where}: claimed is above the deposit")
    channel = state.Channel(
        payer, payee, voucher_key, deposit, claimed, entry["settle_at"], entry["opened_at"]
    )
    return channel_id, channel


def _claimed_within_deposit(reader: KVReader) -> str | None:
    for channel_id, channel in state.read_channels(reader):
        if not 0 <= channel.claimed <= channel.deposit or channel.deposit <= 0:
            return f"channel {channel_id.hex()}: claimed {channel.claimed} of {channel.deposit}"
    return None


def _module_balance(reader: KVReader) -> str | None:
    """The channels account holds exactly the deposits not yet claimed or returned."""
    held = sum(c.unclaimed for _, c in state.read_channels(reader))
    balance = bank.read_balance(reader, state.MODULE_ADDRESS)
    if balance != held:
        return f"the channels account holds {balance} uvox; the open channels hold {held}"
    return None


def _lists_match(reader: KVReader) -> str | None:
    """Each list's commitment matches its items, and the lists name exactly the channels, each
    under its own payer and payee."""
    for index in (state.CHANNELS_BY_PAYER, state.CHANNELS_BY_PAYEE):
        broken = index.check(reader)
        if broken is not None:
            return broken
    expected_payer = sorted((c.payer, cid) for cid, c in state.read_channels(reader))
    expected_payee = sorted((c.payee, cid) for cid, c in state.read_channels(reader))
    for index, expected in (
        (state.CHANNELS_BY_PAYER, expected_payer),
        (state.CHANNELS_BY_PAYEE, expected_payee),
    ):
        listed = [
            (key[len(index.index_prefix) :][:20], key[len(index.index_prefix) :][20:])
            for key, _ in reader.iterate(index.index_prefix)
        ]
        if listed != expected:
            return f"the list under {index.index_prefix!r} does not match the channels"
    return None
