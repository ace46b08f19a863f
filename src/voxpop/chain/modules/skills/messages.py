"""Skills messages: a creator registers, updates, transfers and retires a skill; a payer settles
the uses of many skills at once.

Shapes are checked here (skill ids, bounded lists, distinct skills); what depends on state (who
owns a skill, its fee, whether it is retired, overflow of count * fee) by the handlers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from voxpop.chain.errors import DuplicateSkillUseError, InvalidMessageError, InvalidSkillIdError
from voxpop.chain.fields import ADDRESS, AMOUNT, Doc, ListKind, TextKind, TupleKind, UintKind, Wire
from voxpop.chain.module import Msg
from voxpop.chain.modules.skills.state import MAX_SKILL_ID_LEN, MAX_USES_PER_SETTLE, is_skill_id


class SkillIdKind(TextKind):
    """An OVOS skill id: `<repo>.<author>`, lowercase, at most 140 bytes (text of a set shape,
    so the command line and generic tools treat it as text)."""

    error = InvalidSkillIdError

    def __init__(self) -> None:
        super().__init__(MAX_SKILL_ID_LEN)
        self.doc = f"OVOS skill id `<repo>.<author>`, lowercase, at most {MAX_SKILL_ID_LEN} bytes"

    def parse(self, value: Any, name: str) -> str:
        # Verify the shape of a skill id (whether it is registered is the handler's question)
        if not isinstance(value, str) or not is_skill_id(value):
            raise self.fail(name, "a skill id such as skill-weather.openvoiceos")
        return value


SKILL_ID = SkillIdKind()
COUNT = UintKind(1, doc="uses, 1..2^64-1")
USES = ListKind(
    TupleKind(SKILL_ID, COUNT, names=("skill_id", "count")),
    min_items=1,
    max_items=MAX_USES_PER_SETTLE,
)
FEE = Doc("per use")


@dataclass(frozen=True, slots=True)
class MsgRegisterSkill(Msg):
    """Register a skill id: its royalties (`fee` per use) go to `payout`."""

    TYPE = "skills/Register"
    SIGNER = "creator"
    creator: Annotated[bytes, ADDRESS]
    skill_id: Annotated[str, SKILL_ID]
    payout: Annotated[bytes, ADDRESS, Doc("receives the royalties")]
    fee: Annotated[int, AMOUNT, Wire("fee_per_use"), FEE]


@dataclass(frozen=True, slots=True)
class MsgUpdateSkill(Msg):
    """Replace a skill's payout address and fee (settlements from the next one on pay the new
    terms)."""

    TYPE = "skills/Update"
    SIGNER = "creator"
    creator: Annotated[bytes, ADDRESS]
    skill_id: Annotated[str, SKILL_ID]
    payout: Annotated[bytes, ADDRESS, Doc("receives the royalties")]
    fee: Annotated[int, AMOUNT, Wire("fee_per_use"), FEE]


@dataclass(frozen=True, slots=True)
class MsgTransferSkill(Msg):
    """Hand a skill to another creator, with the payout address its royalties go to from now."""

    TYPE = "skills/Transfer"
    SIGNER = "creator"
    creator: Annotated[bytes, ADDRESS]
    skill_id: Annotated[str, SKILL_ID]
    new_creator: Annotated[bytes, ADDRESS, Doc("owns the skill from now")]
    payout: Annotated[bytes, ADDRESS, Doc("receives the royalties from now")]

    def validate(self) -> None:
        # Verify the skill changes hands
        if self.new_creator == self.creator:
            raise InvalidMessageError("new_creator must differ from creator")


@dataclass(frozen=True, slots=True)
class MsgRetireSkill(Msg):
    """Retire a skill for good: it takes no more settlements, and its id stays taken."""

    TYPE = "skills/Retire"
    SIGNER = "creator"
    creator: Annotated[bytes, ADDRESS]
    skill_id: Annotated[str, SKILL_ID]


@dataclass(frozen=True, slots=True)
class MsgSettle(Msg):
    """Pay, from `payer`, each skill's payout address `count` times its fee: the uses a device
    tallied since its last settlement. Only the counts are on chain, never what was said."""

    TYPE = "skills/Settle"
    SIGNER = "payer"
    payer: Annotated[bytes, ADDRESS]
    uses: Annotated[tuple[tuple[str, int], ...], USES, Doc("distinct skills")]

    def validate(self) -> None:
        # Verify no skill is named twice (a tally sums a skill's uses into one entry)
        if len({skill_id for skill_id, _ in self.uses}) != len(self.uses):
            raise DuplicateSkillUseError("uses must name each skill once")


def settle_msgs(payer: bytes, counts: Mapping[str, int]) -> list[MsgSettle]:
    """The settlements that pay a tally (`counts`: skill id -> uses since the last settlement):
    skills in id order, at most MAX_USES_PER_SETTLE to a message, zero counts left out. Each
    message is parsed as the chain would (raises InvalidSkillIdError, InvalidMessageError)."""
    uses = [[skill_id, n] for skill_id, n in sorted(counts.items()) if n != 0]
    return [
        MsgSettle.from_value({"payer": payer, "uses": uses[i : i + MAX_USES_PER_SETTLE]})
        for i in range(0, len(uses), MAX_USES_PER_SETTLE)
    ]
