"""Skills state: each registered skill, its creator's list, and what settlements paid it.

skills/skill/<skill id>                  -> CBOR Skill (terms, whether retired, and totals)
skills/bc/<creator 20><skill id>         -> 0x01: the creator's active skills (chain/listing.py)
skills/bcc/<creator 20>                  -> CBOR [count, root]: that list's commitment

A skill id is an OVOS `skill_id`, `<repo>.<author>` lowercased (`skill-weather.openvoiceos`), at
most 140 bytes (GitHub's longest repo name, a dot, its longest user name). A retired skill keeps
its record, so its id is never reused by someone else, but leaves its creator's list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import InvalidQueryError
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListIndex, ListRoute
from voxpop.chain.modules.bounds import MAX_UINT64

PREFIX = b"skills/"
SKILL_PREFIX = b"skills/skill/"
ADDRESS_LEN = 20
MAX_SKILL_ID_LEN = 140
# `<repo>.<author>`: a repo name of a-z 0-9 . _ - and a user name of a-z 0-9 -, lowercase; the
# author is after the last dot (user names hold no dot)
SKILL_ID_PATTERN = re.compile(r"[a-z0-9_][a-z0-9._-]*\.[a-z0-9][a-z0-9-]*")
MAX_SKILLS_PER_CREATOR = 256
MAX_USES_PER_SETTLE = 64

# A creator's active skills; the item id is the skill id's bytes (its length varies, at most
# MAX_SKILL_ID_LEN), the item entry the skill's record
SKILLS_BY_CREATOR = ListIndex(
    index_prefix=b"skills/bc/",
    commit_prefix=b"skills/bcc/",
    owner_len=ADDRESS_LEN,
    id_len=MAX_SKILL_ID_LEN,
    max_items=MAX_SKILLS_PER_CREATOR,
)

SKILL_FIELDS = frozenset(
    {"creator", "payout", "fee", "retired", "registered_at", "uses", "paid", "settlements"}
)


def is_skill_id(text: str) -> bool:
    return len(text) <= MAX_SKILL_ID_LEN and SKILL_ID_PATTERN.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class Skill:
    """A registered skill: who owns it, where its royalties go, its fee, and the facts of what
    settlements paid it. Totals saturate at 2^64-1 (paid value can cycle back to payers, so a
    sum is not bounded by the supply)."""

    creator: bytes  # may update, transfer and retire it
    payout: bytes  # receives count * fee on each settlement
    fee: int  # uvox per use, 1..2^64-1
    registered_at: int  # block time
    retired: bool = False
    uses: int = 0  # uses settled, all payers
    paid: int = 0  # uvox paid to its payout addresses, all payers
    settlements: int = 0  # settlement messages that paid it

    def to_value(self) -> dict[str, Any]:
        return {
            "creator": self.creator,
            "payout": self.payout,
            "fee": self.fee,
            "retired": self.retired,
            "registered_at": self.registered_at,
            "uses": self.uses,
            "paid": self.paid,
            "settlements": self.settlements,
        }

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Skill:
        return cls(
            creator=value["creator"],
            payout=value["payout"],
            fee=value["fee"],
            registered_at=value["registered_at"],
            retired=value["retired"],
            uses=value["uses"],
            paid=value["paid"],
            settlements=value["settlements"],
        )


def saturating_add(a: int, b: int) -> int:
    return min(a + b, MAX_UINT64)


# --- keys -------------------------------------------------------------------------------------


def skill_key(skill_id: str) -> bytes:
    return SKILL_PREFIX + skill_id.encode()


def listed_skill_key(owner: bytes, item: bytes) -> bytes:
    """The record an item of a creator's list stands for."""
    return SKILL_PREFIX + item


def skill_query(data: bytes) -> bytes:
    """`/skills/skill`: data = the skill id (UTF-8)."""
    text = data.decode("ascii", errors="replace")
    # Verify the query names one well-formed skill id
    if not is_skill_id(text):
        raise InvalidQueryError("query data must be a skill id such as skill-weather.openvoiceos")
    return skill_key(text)


CREATOR_LIST = ListRoute(SKILLS_BY_CREATOR, listed_skill_key)


# --- skills -----------------------------------------------------------------------------------


def decode_skill(raw: bytes) -> Skill:
    """A record this chain stored (checked when it was written: not checked again)."""
    return Skill.from_value(decode_state(raw))


def get_skill(ctx: Context, skill_id: str) -> Skill | None:
    """The skill registered under `skill_id` (retired ones included), or None."""
    raw = ctx.get(skill_key(skill_id))
    return decode_skill(raw) if raw else None


def set_skill(ctx: Context, skill_id: str, skill: Skill) -> None:
    ctx.set(skill_key(skill_id), encode(skill.to_value()))


def list_skill(ctx: Context, creator: bytes, skill_id: str) -> None:
    """Add the skill to its creator's list. Raises ListFullError."""
    SKILLS_BY_CREATOR.add(ctx, creator, skill_id.encode())


def unlist_skill(ctx: Context, creator: bytes, skill_id: str) -> None:
    SKILLS_BY_CREATOR.remove(ctx, creator, skill_id.encode())


# --- unmetered reads for clients, genesis export and invariants -------------------------------


def read_skill(reader: KVReader, skill_id: str) -> Skill | None:
    raw = reader.get(skill_key(skill_id))
    return decode_skill(raw) if raw else None


def iter_skills(reader: KVReader) -> list[tuple[str, Skill]]:
    """(skill id, skill) of every skill, retired ones included, by id."""
    start = len(SKILL_PREFIX)
    return [(key[start:].decode(), decode_skill(raw)) for key, raw in reader.iterate(SKILL_PREFIX)]


def iter_listed(reader: KVReader) -> list[tuple[bytes, str]]:
    """(creator, skill id) of every listed skill."""
    start = len(SKILLS_BY_CREATOR.index_prefix)
    return [
        (key[start : start + ADDRESS_LEN], key[start + ADDRESS_LEN :].decode())
        for key, _ in reader.iterate(SKILLS_BY_CREATOR.index_prefix)
    ]
