"""The inbox module: messages to an owner, sealed to the owner's directory key, with a size limit
and an expiry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from voxpop.chain.abci import ValidatorUpdate
from voxpop.chain.context import Context
from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListRoute
from voxpop.chain.module import Invariant, Module, MsgRoute, ParamsSpec, address_query
from voxpop.chain.modules.bounds import MAX_UINT64
from voxpop.chain.modules.codec import addr_text, genesis_address
from voxpop.chain.modules.inbox import handlers, state
from voxpop.chain.modules.inbox.messages import MAX_MESSAGE_BYTES, MsgDeleteMessages, MsgPost

GENESIS_FIELDS = frozenset({"params", "messages", "last_ids"})
MESSAGE_JSON_FIELDS = frozenset({"owner", "id", *state.MESSAGE_FIELDS})
MAX_GENESIS_MESSAGES = 100_000
MAX_GENESIS_OWNERS = 100_000


class InboxModule(Module):
    name = "inbox"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(state.PARAMS_KEY, state.InboxParams.from_value, state.InboxParams)

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgPost.TYPE: MsgRoute(MsgPost, handlers.process_post),
            MsgDeleteMessages.TYPE: MsgRoute(MsgDeleteMessages, handlers.process_delete),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "message": state.message_query,
            "last_id": address_query(state.last_id_key, "owner"),
            "params": lambda _: state.PARAMS_KEY,
        }

    def list_routes(self) -> Mapping[str, ListRoute]:
        return {"by_owner": state.MESSAGE_LIST}

    def default_genesis(self) -> dict[str, Any]:
        return {"params": state.InboxParams().to_value(), "messages": [], "last_ids": []}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        # Verify the shape and the bounds, then each owner's last id and each message under it
        if set(data) != GENESIS_FIELDS:
            raise InvalidGenesisError(f"inbox genesis needs exactly {sorted(GENESIS_FIELDS)}")
        messages, last_ids = data["messages"], data["last_ids"]
        if not isinstance(messages, list) or not isinstance(last_ids, list):
            raise InvalidGenesisError("inbox genesis: messages and last_ids must be lists")
        if len(messages) > MAX_GENESIS_MESSAGES or len(last_ids) > MAX_GENESIS_OWNERS:
            raise InvalidGenesisError(
                f"inbox genesis holds at most {MAX_GENESIS_MESSAGES} messages and "
                f"{MAX_GENESIS_OWNERS} owners"
            )
        state.set_params(ctx, state.InboxParams.from_value(data["params"]))
        last: dict[bytes, int] = {}
        for i, entry in enumerate(last_ids):
            where = f"inbox.last_ids[{i}]"
            if not isinstance(entry, dict) or set(entry) != {"owner", "last_id"}:
                raise InvalidGenesisError(f"{where} needs exactly last_id and owner")
            owner = genesis_address(entry["owner"], f"{where}.owner")
            if owner in last:
                raise InvalidGenesisError(f"{where}: duplicate owner")
            if type(entry["last_id"]) is not int or not 1 <= entry["last_id"] <= MAX_UINT64:
                raise InvalidGenesisError(f"{where}.last_id must be 1 to 2^64-1")
            last[owner] = entry["last_id"]
            state.set_last_id(ctx, owner, entry["last_id"])
        seen: set[tuple[bytes, int]] = set()
        held: Counter[bytes] = Counter()
        for i, entry in enumerate(messages):
            where = f"inbox.messages[{i}]"
            owner, message_id, message = genesis_message(entry, where)
            # Verify each id once, and spent: at most the owner's last id (ids are never reused)
            if (owner, message_id) in seen:
                raise InvalidGenesisError(f"{where}: duplicate id")
            seen.add((owner, message_id))
            if message_id > last.get(owner, 0):
                raise InvalidGenesisError(f"{where}: id above its owner's last_id")
            # Verify the owner's inbox fits its list (not the param, which may have been lowered)
            held[owner] += 1
            if held[owner] > state.MAX_MESSAGES_PER_OWNER:
                raise InvalidGenesisError(f"{where}: its owner has too many messages")
            state.add_message(ctx, owner, message_id, message)

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        return {
            "params": state.read_params(reader).to_value(),
            "messages": [message_json(o, i, m) for o, i, m in state.read_messages(reader)],
            "last_ids": [
                {"owner": addr_text(owner), "last_id": last_id}
                for owner, last_id in state.read_last_ids(reader)
            ],
        }

    def end_block(self, ctx: Context) -> list[ValidatorUpdate]:
        state.prune_expired(ctx)
        return []

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("inbox/lists", _lists_match),
            Invariant("inbox/expiry-queue", _queue_matches_messages),
            Invariant("inbox/ids-spent", _ids_spent),
            Invariant("inbox/well-formed", _well_formed),
        ]


def message_json(owner: bytes, message_id: int, message: state.InboxMessage) -> dict[str, Any]:
    """A message as genesis files, the API and the CLI show it (the ciphertext in hex)."""
    return {
        "owner": addr_text(owner),
        "id": message_id,
        "ciphertext": message.ciphertext.hex(),
        "posted_at": message.posted_at,
        "expires_at": message.expires_at,
    }


def genesis_message(entry: Any, where: str) -> tuple[bytes, int, state.InboxMessage]:
    """A message from its JSON shape (`message_json`), checked. Raises InvalidGenesisError."""
    if not isinstance(entry, dict) or set(entry) != MESSAGE_JSON_FIELDS:
        raise InvalidGenesisError(f"{where} needs exactly {sorted(MESSAGE_JSON_FIELDS)}")
    owner = genesis_address(entry["owner"], f"{where}.owner")
    for name in ("id", "posted_at", "expires_at"):
        if type(entry[name]) is not int or not 0 <= entry[name] <= MAX_UINT64:
            raise InvalidGenesisError(f"{where}.{name} must be an unsigned 64-bit integer")
    try:
        ciphertext = bytes.fromhex(entry["ciphertext"])
    except (TypeError, ValueError):
        raise InvalidGenesisError(f"{where}.ciphertext must be hex") from None
    posted_at, expires_at = entry["posted_at"], entry["expires_at"]
    # Verify what a Post could have stored: an id from 1, a ciphertext within the largest limit,
    # an expiry after the post by at most the longest ttl
    if entry["id"] < 1:
        raise InvalidGenesisError(f"{where}.id counts from 1")
    if not 0 < len(ciphertext) <= MAX_MESSAGE_BYTES:
        raise InvalidGenesisError(f"{where}.ciphertext must be 1 to {MAX_MESSAGE_BYTES} bytes")
    if not posted_at < expires_at <= posted_at + state.MAX_TTL_SECONDS:
        raise InvalidGenesisError(
            f"{where}: expires_at must be after posted_at, by at most {state.MAX_TTL_SECONDS} s"
        )
    return owner, entry["id"], state.InboxMessage(ciphertext, posted_at, expires_at)


# --- invariants -------------------------------------------------------------------------------


def _lists_match(reader: KVReader) -> str | None:
    """The lists' commitments match, and they name exactly the stored messages."""
    broken = state.MESSAGES_BY_OWNER.check(reader)
    if broken is not None:
        return broken
    stored = [(owner, i) for owner, i, _ in state.read_messages(reader)]
    if state.read_listed(reader) != stored:
        return "the inbox lists do not name exactly the stored messages"
    return None


def _queue_matches_messages(reader: KVReader) -> str | None:
    """One queue entry per message, at its expiry."""
    expected = sorted((m.expires_at, owner, i) for owner, i, m in state.read_messages(reader))
    if state.read_expiry_queue(reader) != expected:
        return "the inbox expiry queue does not match the messages"
    return None


def _ids_spent(reader: KVReader) -> str | None:
    """Every stored message's id is from 1 to its owner's last id (so a new id is never one in
    use, nor one used before)."""
    last = dict(state.read_last_ids(reader))
    for owner, message_id, _ in state.read_messages(reader):
        if not 1 <= message_id <= last.get(owner, 0):
            return f"message {message_id} of {addr_text(owner)} is beyond its last id"
    return None


def _well_formed(reader: KVReader) -> str | None:
    for owner, message_id, m in state.read_messages(reader):
        if not 0 < len(m.ciphertext) <= MAX_MESSAGE_BYTES or m.expires_at <= m.posted_at:
            return f"message {message_id} of {addr_text(owner)} is malformed"
    return None
