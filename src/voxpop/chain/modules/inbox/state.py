"""Inbox state: each owner's messages by id, the last id it was given, the expiry queue, and the
owner's list.

inbox/params                                          -> CBOR InboxParams
inbox/msg/<owner 20><id u64 BE>                       -> CBOR InboxMessage
inbox/last/<owner 20>                                 -> u64 BE: the last id given (only grows)
inbox/exp/<expires_at u64 BE><owner 20><id u64 BE>    -> 0x01: the expiry queue
inbox/bo/<owner 20><id u64 BE>, inbox/boc/<owner 20>  -> the list of an owner's messages

Ids count from 1 per owner and are never reused: a deleted or expired message's id stays spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import InvalidGenesisError, InvalidQueryError
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListIndex, ListRoute, decode_commitment
from voxpop.chain.modules.bounds import param_int
from voxpop.chain.modules.inbox.messages import MAX_MESSAGE_BYTES

PREFIX = b"inbox/"
PARAMS_KEY = b"inbox/params"
MESSAGE_PREFIX = b"inbox/msg/"
LAST_ID_PREFIX = b"inbox/last/"
EXPIRY_PREFIX = b"inbox/exp/"
ADDRESS_LEN = 20
ID_LEN = 8
TIME_LEN = 8
_QUEUED = b"\x01"

# The params' bounds; the list is sized for the largest inbox (each change re-commits it)
MAX_MESSAGES_PER_OWNER = 1_024
MIN_MESSAGE_BYTES = 64  # room for a sealed box's own 48 bytes and a few words
MIN_TTL_SECONDS = 3_600
MAX_TTL_SECONDS = 365 * 86_400
# Messages pruned in one end-block at most; any more wait for the next block
MAX_PRUNED_PER_BLOCK = 1_000

MESSAGES_BY_OWNER = ListIndex(
    index_prefix=b"inbox/bo/",
    commit_prefix=b"inbox/boc/",
    owner_len=ADDRESS_LEN,
    id_len=ID_LEN,
    max_items=MAX_MESSAGES_PER_OWNER,
)

PARAM_NAMES = frozenset({"max_message_bytes", "max_messages_per_owner", "max_ttl_seconds"})


@dataclass(frozen=True, slots=True)
class InboxParams:
    max_message_bytes: int = 4_096
    max_messages_per_owner: int = 256
    # How long a message may stay; a Post with expires_at 0 stays this long
    max_ttl_seconds: int = 30 * 86_400

    @classmethod
    def from_value(cls, value: Any) -> InboxParams:
        """Params from genesis or state, each within its bounds. Raises InvalidGenesisError."""
        if not isinstance(value, dict) or set(value) != PARAM_NAMES:
            raise InvalidGenesisError(f"inbox params need exactly {sorted(PARAM_NAMES)}")
        return cls(
            param_int(
                "inbox",
                "max_message_bytes",
                value["max_message_bytes"],
                MIN_MESSAGE_BYTES,
                MAX_MESSAGE_BYTES,
            ),
            param_int(
                "inbox",
                "max_messages_per_owner",
                value["max_messages_per_owner"],
                1,
                MAX_MESSAGES_PER_OWNER,
            ),
            param_int(
                "inbox",
                "max_ttl_seconds",
                value["max_ttl_seconds"],
                MIN_TTL_SECONDS,
                MAX_TTL_SECONDS,
            ),
        )

    def to_value(self) -> dict[str, Any]:
        return {
            "max_message_bytes": self.max_message_bytes,
            "max_messages_per_owner": self.max_messages_per_owner,
            "max_ttl_seconds": self.max_ttl_seconds,
        }


MESSAGE_FIELDS = ("ciphertext", "posted_at", "expires_at")


@dataclass(frozen=True, slots=True)
class InboxMessage:
    ciphertext: bytes  # sealed to the owner's X25519 directory key; the chain never opens it
    posted_at: int  # block time
    expires_at: int  # block time it is deleted at

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in MESSAGE_FIELDS}

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> InboxMessage:
        return cls(*(value[name] for name in MESSAGE_FIELDS))


# --- keys -------------------------------------------------------------------------------------


def encode_id(message_id: int) -> bytes:
    return message_id.to_bytes(ID_LEN, "big")


def message_key(owner: bytes, message_id: int) -> bytes:
    return MESSAGE_PREFIX + owner + encode_id(message_id)


def last_id_key(owner: bytes) -> bytes:
    return LAST_ID_PREFIX + owner


def expiry_key(expires_at: int, owner: bytes, message_id: int) -> bytes:
    return EXPIRY_PREFIX + expires_at.to_bytes(TIME_LEN, "big") + owner + encode_id(message_id)


def message_query(data: bytes) -> bytes:
    """`/inbox/message`: data = owner 20 ‖ id u64 BE."""
    # Verify an owner and an id
    if len(data) != ADDRESS_LEN + ID_LEN:
        raise InvalidQueryError("query data must be owner (20 bytes) ‖ message id (8 bytes)")
    return MESSAGE_PREFIX + data


MESSAGE_LIST = ListRoute(MESSAGES_BY_OWNER, lambda owner, item: MESSAGE_PREFIX + owner + item)


# --- params -----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> InboxParams:
    return InboxParams.from_value(decode_state(raw))


def get_params(state: KVReader | Context) -> InboxParams:
    raw = state.get(PARAMS_KEY)
    return decode_params(raw) if raw else InboxParams()


def set_params(ctx: Context, params: InboxParams) -> None:
    ctx.set(PARAMS_KEY, encode(params.to_value()))


# --- reads (metered through a Context, unmetered through a KVReader) --------------------------


def decode_message(raw: bytes) -> InboxMessage:
    """The value of `/inbox/message`."""
    return InboxMessage.from_value(decode_state(raw))


def get_message(state: KVReader | Context, owner: bytes, message_id: int) -> InboxMessage | None:
    raw = state.get(message_key(owner, message_id))
    return decode_message(raw) if raw else None


def get_last_id(state: KVReader | Context, owner: bytes) -> int:
    raw = state.get(last_id_key(owner))
    return int.from_bytes(raw, "big") if raw else 0


def count_messages(state: KVReader | Context, owner: bytes) -> int:
    """How many messages the owner's inbox holds: its list's count (one read)."""
    count, _ = decode_commitment(state.get(MESSAGES_BY_OWNER.commitment_key(owner)))
    return count


# --- writes -----------------------------------------------------------------------------------


def set_last_id(ctx: Context, owner: bytes, message_id: int) -> None:
    ctx.set(last_id_key(owner), message_id.to_bytes(ID_LEN, "big"))


def add_message(ctx: Context, owner: bytes, message_id: int, message: InboxMessage) -> None:
    """Store a message, queue its expiry and list it. Raises ListFullError."""
    ctx.set(message_key(owner, message_id), encode(message.to_value()))
    ctx.set(expiry_key(message.expires_at, owner, message_id), _QUEUED)
    MESSAGES_BY_OWNER.add(ctx, owner, encode_id(message_id))


def delete_message(ctx: Context, owner: bytes, message_id: int, message: InboxMessage) -> None:
    """Remove a message with its queue and list entries."""
    ctx.delete(message_key(owner, message_id))
    ctx.delete(expiry_key(message.expires_at, owner, message_id))
    MESSAGES_BY_OWNER.remove(ctx, owner, encode_id(message_id))


def prune_expired(ctx: Context, limit: int = MAX_PRUNED_PER_BLOCK) -> list[tuple[bytes, int]]:
    """Delete up to `limit` messages whose expiry is at or before the block time, oldest first;
    return their (owner, id)."""
    now = ctx.block.time_unix
    due: list[tuple[bytes, bytes, int]] = []
    for key, _ in ctx.iterate(EXPIRY_PREFIX):
        rest = key[len(EXPIRY_PREFIX) :]
        if int.from_bytes(rest[:TIME_LEN], "big") > now or len(due) >= limit:
            break
        owner = rest[TIME_LEN : TIME_LEN + ADDRESS_LEN]
        due.append((key, owner, int.from_bytes(rest[TIME_LEN + ADDRESS_LEN :], "big")))
    pruned = []
    for key, owner, message_id in due:
        message = get_message(ctx, owner, message_id)
        if message is None:  # never (an invariant): the queue names only stored messages
            ctx.delete(key)
            continue
        delete_message(ctx, owner, message_id, message)
        pruned.append((owner, message_id))
    return pruned


# --- unmetered reads for genesis and invariants -----------------------------------------------


def read_params(reader: KVReader) -> InboxParams:
    return get_params(reader)


def read_messages(reader: KVReader) -> list[tuple[bytes, int, InboxMessage]]:
    """(owner, id, message) of every message, by owner then id."""
    start = len(MESSAGE_PREFIX)
    return [
        (
            key[start : start + ADDRESS_LEN],
            int.from_bytes(key[start + ADDRESS_LEN :], "big"),
            decode_message(raw),
        )
        for key, raw in reader.iterate(MESSAGE_PREFIX)
    ]


def read_last_ids(reader: KVReader) -> list[tuple[bytes, int]]:
    start = len(LAST_ID_PREFIX)
    return [(k[start:], int.from_bytes(v, "big")) for k, v in reader.iterate(LAST_ID_PREFIX)]


def read_expiry_queue(reader: KVReader) -> list[tuple[int, bytes, int]]:
    start = len(EXPIRY_PREFIX)
    out = []
    for key, _ in reader.iterate(EXPIRY_PREFIX):
        rest = key[start:]
        out.append(
            (
                int.from_bytes(rest[:TIME_LEN], "big"),
                rest[TIME_LEN : TIME_LEN + ADDRESS_LEN],
                int.from_bytes(rest[TIME_LEN + ADDRESS_LEN :], "big"),
            )
        )
    return out


def read_listed(reader: KVReader) -> list[tuple[bytes, int]]:
    """(owner, id) of every listed message, in key order."""
    start = len(MESSAGES_BY_OWNER.index_prefix)
    return [
        (key[start : start + ADDRESS_LEN], int.from_bytes(key[start + ADDRESS_LEN :], "big"))
        for key, _ in reader.iterate(MESSAGES_BY_OWNER.index_prefix)
    ]
