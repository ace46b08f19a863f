"""The htlc module: hash-time-locked uvox (the VOX leg of a cross-chain swap) and swap offers
posted on chain, so a taker finds them with no server in the middle."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from voxpop.chain.abci import ValidatorUpdate
from voxpop.chain.context import Context
from voxpop.chain.errors import ChainError, InvalidGenesisError, InvalidQueryError
from voxpop.chain.fields import MAX_UINT64
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListRoute
from voxpop.chain.module import (
    Invariant,
    Module,
    MsgRoute,
    ParamsSpec,
    address_query,
    msg_from_json,
)
from voxpop.chain.modules.bank import state as bank
from voxpop.chain.modules.codec import addr_text, genesis_address
from voxpop.chain.modules.htlc import handlers, state
from voxpop.chain.modules.htlc.messages import (
    MsgCancel,
    MsgClaim,
    MsgLock,
    MsgOffer,
    MsgRefund,
    MsgTake,
)

GENESIS_FIELDS = {"params", "locks", "offers", "nonces"}
MAX_GENESIS_NONCE = 1 << 32


def _id_query(make_key: Callable[[bytes], bytes], what: str) -> Callable[[bytes], bytes]:
    def route(data: bytes) -> bytes:
        # Verify one 32-byte id
        if len(data) != state.ID_LEN:
            raise InvalidQueryError(f"query data must be a 32-byte {what} id")
        return make_key(data)

    return route


def _lock_spent(ctx: Context, msg: MsgLock) -> int:
    return msg.amount


class HtlcModule(Module):
    name = "htlc"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(state.PARAMS_KEY, state.HtlcParams.from_value, state.HtlcParams)

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgLock.TYPE: MsgRoute(MsgLock, handlers.process_lock, spend_of=_lock_spent),
            MsgClaim.TYPE: MsgRoute(MsgClaim, handlers.process_claim),
            MsgRefund.TYPE: MsgRoute(MsgRefund, handlers.process_refund),
            MsgOffer.TYPE: MsgRoute(MsgOffer, handlers.process_offer),
            MsgTake.TYPE: MsgRoute(MsgTake, handlers.process_take),
            MsgCancel.TYPE: MsgRoute(MsgCancel, handlers.process_cancel),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "lock": _id_query(state.lock_key, "lock"),
            "offer": _id_query(state.offer_key, "offer"),
            "nonce": address_query(state.nonce_key, "offerer"),
            "params": lambda _: state.PARAMS_KEY,
        }

    def list_routes(self) -> Mapping[str, ListRoute]:
        return {
            "by_sender": ListRoute(state.LOCKS_BY_SENDER, lambda _, i: state.lock_key(i)),
            "by_recipient": ListRoute(state.LOCKS_BY_RECIPIENT, lambda _, i: state.lock_key(i)),
            "open_offers": ListRoute(state.OPEN_OFFERS, lambda _, i: state.offer_key(i)),
        }

    def default_genesis(self) -> dict[str, Any]:
        return {"params": state.HtlcParams().to_value(), "locks": [], "offers": [], "nonces": []}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        # Verify the shape and params, then each lock, offer and nonce as its message would be
        if set(data) != GENESIS_FIELDS:
            raise InvalidGenesisError(f"htlc genesis needs exactly {sorted(GENESIS_FIELDS)}")
        if not all(isinstance(data[k], list) for k in ("locks", "offers", "nonces")):
            raise InvalidGenesisError("htlc genesis: locks, offers and nonces must be lists")
        state.set_params(ctx, state.HtlcParams.from_value(data["params"]))
        held = 0
        for i, entry in enumerate(data["locks"]):
            lock_id, lock = genesis_lock(entry, f"htlc.locks[{i}]")
            if state.find_lock(ctx, lock_id) is not None:
                raise InvalidGenesisError(f"htlc.locks[{i}]: duplicate lock")
            state.set_lock(ctx, lock_id, lock)
            if lock.is_open:
                state.LOCKS_BY_SENDER.add(ctx, lock.sender, lock_id)
                state.LOCKS_BY_RECIPIENT.add(ctx, lock.recipient, lock_id)
                held += lock.amount
        for i, entry in enumerate(data["offers"]):
            offer_id, offer = genesis_offer(entry, f"htlc.offers[{i}]")
            if ctx.get(state.offer_key(offer_id)) is not None:
                raise InvalidGenesisError(f"htlc.offers[{i}]: duplicate offer")
            state.set_offer(ctx, offer_id, offer)
            ctx.set(state.expiry_key(offer.expires_at, offer_id), b"\x01")
            if not offer.is_taken:
                state.OPEN_OFFERS.add(ctx, b"", offer_id)
        seen: set[bytes] = set()
        for i, entry in enumerate(data["nonces"]):
            where = f"htlc.nonces[{i}]"
            if not isinstance(entry, dict) or set(entry) != {"offerer", "nonce"}:
                raise InvalidGenesisError(f"{where} needs exactly offerer and nonce")
            offerer = genesis_address(entry["offerer"], where)
            nonce = entry["nonce"]
            if offerer in seen or type(nonce) is not int or not 1 <= nonce <= MAX_GENESIS_NONCE:
                raise InvalidGenesisError(f"{where}: a new offerer and a nonce 1..2^32")
            seen.add(offerer)
            ctx.set(state.nonce_key(offerer), nonce.to_bytes(state.NONCE_LEN, "big"))
        # Verify the htlc account (funded in bank's genesis) holds exactly the open locks
        balance = bank.get_balance(ctx, state.MODULE_ADDRESS)
        if balance != held:
            raise InvalidGenesisError(f"htlc: the module account holds {balance}, locks {held}")

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        return {
            "params": state.read_params(reader).to_value(),
            "locks": [lock_json(i, lock) for i, lock in state.read_locks(reader)],
            "offers": [offer_json(i, offer) for i, offer in state.read_offers(reader)],
            "nonces": [
                {"offerer": addr_text(offerer), "nonce": nonce}
                for offerer, nonce in state.read_nonces(reader)
            ],
        }

    def end_block(self, ctx: Context) -> list[ValidatorUpdate]:
        state.prune_expired_offers(ctx)
        return []

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("htlc/module-balance", _module_balance),
            Invariant("htlc/settled-once", _settled_well_formed),
            Invariant("htlc/lists", _lists_match),
        ]


def lock_json(lock_id: bytes, lock: state.Lock) -> dict[str, Any]:
    """A lock as genesis files, the API and the CLI show it."""
    return {
        "id": lock_id.hex(),
        "sender": addr_text(lock.sender),
        "recipient": addr_text(lock.recipient),
        "amount": lock.amount,
        "hashlock": lock.hashlock.hex(),
        "timeout": lock.timeout,
        "status": state.STATUS_NAMES[lock.status],
        "preimage": lock.preimage.hex(),
        "locked_at": lock.locked_at,
    }


def offer_json(offer_id: bytes, offer: state.Offer) -> dict[str, Any]:
    """An offer as genesis files, the API and the CLI show it."""
    return {
        "id": offer_id.hex(),
        "offerer": addr_text(offer.offerer),
        "side": offer.side,
        "amount": offer.amount,
        "asset": offer.asset,
        "asset_amount": offer.asset_amount,
        "other_address": offer.other_address,
        "hashlock": offer.hashlock.hex(),
        "offerer_seconds": offer.offerer_seconds,
        "taker_seconds": offer.taker_seconds,
        "expires_at": offer.expires_at,
        "taker": addr_text(offer.taker) if offer.taker else "",
        "taker_address": offer.taker_address,
        "taken_at": offer.taken_at,
    }


def _genesis_hex(entry: Mapping[str, Any], name: str, where: str, sizes: tuple[int, ...]) -> bytes:
    try:
        value = bytes.fromhex(entry[name])
    except (TypeError, ValueError):
        raise InvalidGenesisError(f"{where}.{name} must be hex") from None
    if len(value) not in sizes:
        raise InvalidGenesisError(f"{where}.{name} must be {' or '.join(map(str, sizes))} bytes")
    return value


def _genesis_time(entry: Mapping[str, Any], name: str, where: str) -> int:
    if type(entry[name]) is not int or not 0 <= entry[name] <= MAX_UINT64:
        raise InvalidGenesisError(f"{where}.{name} must be a 64-bit block time")
    value: int = entry[name]
    return value


def genesis_lock(entry: Any, where: str) -> tuple[bytes, state.Lock]:
    """A lock from its JSON shape (`lock_json`), checked. Raises InvalidGenesisError."""
    if not isinstance(entry, dict) or set(entry) != {"id", *state.LOCK_FIELDS}:
        raise InvalidGenesisError(f"{where} needs exactly {sorted({'id', *state.LOCK_FIELDS})}")
    statuses = {name: code for code, name in state.STATUS_NAMES.items()}
    if entry["status"] not in statuses:
        raise InvalidGenesisError(f"{where}.status must be open, claimed or refunded")
    status = statuses[entry["status"]]
    try:
        msg = msg_from_json(
            MsgLock,
            {k: entry[k] for k in ("sender", "recipient", "amount", "hashlock")}
            | {"timeout": entry["timeout"]},
            where,
        )
    except ChainError as exc:
        raise InvalidGenesisError(f"{where}: {exc.message}") from None
    preimage = _genesis_hex(entry, "preimage", where, (32,) if status == state.CLAIMED else (0,))
    lock_id = _genesis_hex(entry, "id", where, (32,))
    # Verify the id is the one the chain computes
    if lock_id != state.compute_lock_id(msg.sender, msg.recipient, msg.hashlock):
        raise InvalidGenesisError(f"{where}.id is not sha256 of sender, recipient, hashlock")
    lock = state.Lock(
        msg.sender,
        msg.recipient,
        msg.amount,
        msg.hashlock,
        msg.timeout,
        status,
        preimage,
        _genesis_time(entry, "locked_at", where),
    )
    return lock_id, lock


def genesis_offer(entry: Any, where: str) -> tuple[bytes, state.Offer]:
    """An offer from its JSON shape (`offer_json`), checked. Raises InvalidGenesisError."""
    if not isinstance(entry, dict) or set(entry) != {"id", *state.OFFER_FIELDS}:
        raise InvalidGenesisError(f"{where} needs exactly {sorted({'id', *state.OFFER_FIELDS})}")
    names: tuple[str, ...] = (
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
    )
    try:
        msg = msg_from_json(MsgOffer, {k: entry[k] for k in names}, where)
    except ChainError as exc:
        raise InvalidGenesisError(f"{where}: {exc.message}") from None
    offer_id = _genesis_hex(entry, "id", where, (32,))
    taker = genesis_address(entry["taker"], f"{where}.taker") if entry["taker"] else b""
    taker_address = entry["taker_address"]
    # Verify a taken offer names its taker's address and time; an untaken one neither
    if not isinstance(taker_address, str) or bool(taker) != bool(taker_address):
        raise InvalidGenesisError(f"{where}: taker and taker_address go together")
    offer = state.Offer(
        **{name: getattr(msg, name) for name in names},
        taker=taker,
        taker_address=taker_address,
        taken_at=_genesis_time(entry, "taken_at", where),
    )
    return offer_id, offer


def _module_balance(reader: KVReader) -> str | None:
    """The htlc account holds exactly the open locks' uvox."""
    held = sum(lock.amount for _, lock in state.read_locks(reader) if lock.is_open)
    balance = bank.read_balance(reader, state.MODULE_ADDRESS)
    if balance != held:
        return f"the htlc account holds {balance} uvox; the open locks hold {held}"
    return None


def _settled_well_formed(reader: KVReader) -> str | None:
    """A claimed lock holds its 32-byte preimage; an open or refunded one none."""
    for lock_id, lock in state.read_locks(reader):
        if (len(lock.preimage) == 32) != (lock.status == state.CLAIMED) or lock.amount <= 0:
            return (
                f"lock {lock_id.hex()} is {lock.status} with a {len(lock.preimage)}-byte preimage"
            )
    return None


def _lists_match(reader: KVReader) -> str | None:
    """The lists' commitments match; they name exactly the open locks and untaken offers, and
    the expiry queue every offer."""
    for index in (state.LOCKS_BY_SENDER, state.LOCKS_BY_RECIPIENT, state.OPEN_OFFERS):
        broken = index.check(reader)
        if broken is not None:
            return broken
    locks = [(i, lock) for i, lock in state.read_locks(reader) if lock.is_open]
    offers = state.read_offers(reader)
    for index, expected in (
        (state.LOCKS_BY_SENDER, sorted(lock.sender + i for i, lock in locks)),
        (state.LOCKS_BY_RECIPIENT, sorted(lock.recipient + i for i, lock in locks)),
        (state.OPEN_OFFERS, sorted(i for i, offer in offers if not offer.is_taken)),
    ):
        listed = [key[len(index.index_prefix) :] for key, _ in reader.iterate(index.index_prefix)]
        if listed != expected:
            return f"the list under {index.index_prefix!r} does not match the state"
    if state.read_expiry_queue(reader) != sorted((o.expires_at, i) for i, o in offers):
        return "the offers' expiry queue does not match the offers"
    return None
