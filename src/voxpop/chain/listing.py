"""Listable, provable state: secondary indexes with a commitment a client checks a list against.

A single-key query is proven by one Merkle proof. A list (delegations of a delegator, offers of a
kind, votes of a proposal) is a set of keys, and a node could leave some out. So a module that
lists things keeps, per list:

    <index prefix><owner><item id>  -> 0x01                      one key per item (the index)
    <commit prefix><owner>          -> CBOR [count, root]         the list's commitment

where `root` is the RFC 6962 Merkle tree hash of the sorted item ids. A list query answers with
the commitment and its proof, and each item with the proof of the state it points at; the client
recomputes count and root from the ids it was given, so a list with an item dropped or added does
not verify (see client/lists.py).

The commitment is recomputed from the index at each change, which costs one iteration step per
item: lists are bounded by the module that keeps them (`max_items`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from hashlib import sha256

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import InvalidQueryError, ListFullError
from voxpop.chain.kv import KVReader

LEAF = b"\x00"
NODE = b"\x01"
EMPTY_ROOT = sha256(b"").digest()
PRESENT = b"\x01"


def merkle_root(ids: Iterable[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash of `ids` in the given order (empty: sha256 of nothing)."""
    level = [sha256(LEAF + i).digest() for i in ids]
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        # Split as RFC 6962 does: the left subtree holds the largest power of two < n; pairing
        # bottom-up with an odd node carried up gives the same tree.
        nxt = [sha256(NODE + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def encode_commitment(count: int, root: bytes) -> bytes:
    return encode([count, root])


def decode_commitment(raw: bytes | None) -> tuple[int, bytes]:
    if raw is None:
        return 0, EMPTY_ROOT
    count, root = decode_state(raw)
    return count, root


@dataclass(frozen=True, slots=True)
class ListIndex:
    """One kind of list a module keeps: items of fixed-length ids under fixed-length owners."""

    index_prefix: bytes
    commit_prefix: bytes
    owner_len: int
    id_len: int
    max_items: int

    def item_key(self, owner: bytes, item: bytes) -> bytes:
        return self.index_prefix + owner + item

    def commitment_key(self, owner: bytes) -> bytes:
        return self.commit_prefix + owner

    def ids(self, state: KVReader | Context, owner: bytes) -> list[bytes]:
        """The owner's item ids, ascending."""
        prefix = self.index_prefix + owner
        return [key[len(prefix) :] for key, _ in state.iterate(prefix)]

    def add(self, ctx: Context, owner: bytes, item: bytes) -> None:
        """Index `item` under `owner` (no-op if it is there). Raises ListFullError."""
        self.add_many(ctx, owner, [item])

    def add_many(self, ctx: Context, owner: bytes, items: Iterable[bytes]) -> None:
        """Index each of `items` under `owner` (those there already are skipped), recomputing
        the commitment once: a message adding many items to one list pays one pass over it,
        not one per item. The same state as adding them one by one. Raises ListFullError."""
        new = sorted({item for item in items if ctx.get(self.item_key(owner, item)) is None})
        if not new:
            return
        ids = self.ids(ctx, owner)
        # Verify the list has room (its commitment is recomputed at each change)
        if len(ids) + len(new) > self.max_items:
            raise ListFullError(f"a list holds at most {self.max_items} items")
        for item in new:
            ctx.set(self.item_key(owner, item), PRESENT)  # never empty: clients read it absent
        self._commit(ctx, owner, sorted([*ids, *new]))

    def remove(self, ctx: Context, owner: bytes, item: bytes) -> None:
        key = self.item_key(owner, item)
        if ctx.get(key) is None:
            return
        ctx.delete(key)
        self._commit(ctx, owner, [i for i in self.ids(ctx, owner) if i != item])

    def _commit(self, ctx: Context, owner: bytes, ids: list[bytes]) -> None:
        if ids:
            ctx.set(self.commitment_key(owner), encode_commitment(len(ids), merkle_root(ids)))
        else:
            ctx.delete(self.commitment_key(owner))

    def check(self, state: KVReader) -> str | None:
        """Invariant: every owner's commitment matches its index, and no commitment is orphaned."""
        owners: dict[bytes, list[bytes]] = {}
        for key, _ in state.iterate(self.index_prefix):
            rest = key[len(self.index_prefix) :]
            owners.setdefault(rest[: self.owner_len], []).append(rest[self.owner_len :])
        for owner, ids in owners.items():
            count, root = decode_commitment(state.get(self.commitment_key(owner)))
            if (count, root) != (len(ids), merkle_root(ids)):
                return f"commitment of {owner.hex()} does not match its {len(ids)} items"
        for key, _ in state.iterate(self.commit_prefix):
            if key[len(self.commit_prefix) :] not in owners:
                return f"commitment {key.hex()} has no items"
        return None


@dataclass(frozen=True, slots=True)
class ListRoute:
    """A list query: which index, and the state key each item id stands for."""

    index: ListIndex
    item_state_key: Callable[[bytes, bytes], bytes]  # (owner, id) -> the key the client reads

    def owner(self, data: bytes) -> bytes:
        # Verify the query names one owner
        if len(data) != self.index.owner_len:
            raise InvalidQueryError(f"query data must be a {self.index.owner_len}-byte owner")
        return data
