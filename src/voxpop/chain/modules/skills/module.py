"""The skills module: creators register OVOS skills with a per-use fee, and payers (devices, or
their agents under authz) settle the uses they tallied, many skills in one message. Only counts
reach the chain, never what was said."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.errors import ChainError, InvalidGenesisError
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListRoute
from voxpop.chain.module import Invariant, Module, MsgRoute
from voxpop.chain.modules.bounds import MAX_UINT64
from voxpop.chain.modules.codec import addr_text, genesis_address
from voxpop.chain.modules.skills import handlers, state
from voxpop.chain.modules.skills.messages import (
    SKILL_ID,
    MsgRegisterSkill,
    MsgRetireSkill,
    MsgSettle,
    MsgTransferSkill,
    MsgUpdateSkill,
)

MAX_GENESIS_SKILLS = 100_000
GENESIS_FIELDS = frozenset({"skill_id", *state.SKILL_FIELDS})


def _settlement_spent(ctx: Context, msg: MsgSettle) -> int:
    """What skills/Settle pays, for authz's spend limits: every entry at its skill's current fee
    (raises what the settlement itself would: SkillNotFoundError, ...)."""
    return sum(amount for _, _, _, amount in handlers.compute_payments(ctx, msg))


class SkillsModule(Module):
    name = "skills"
    prefix = state.PREFIX

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgRegisterSkill.TYPE: MsgRoute(MsgRegisterSkill, handlers.process_register),
            MsgUpdateSkill.TYPE: MsgRoute(MsgUpdateSkill, handlers.process_update),
            MsgTransferSkill.TYPE: MsgRoute(MsgTransferSkill, handlers.process_transfer),
            MsgRetireSkill.TYPE: MsgRoute(MsgRetireSkill, handlers.process_retire),
            MsgSettle.TYPE: MsgRoute(
                MsgSettle, handlers.process_settle, spend_of=_settlement_spent
            ),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {"skill": state.skill_query}

    def list_routes(self) -> Mapping[str, ListRoute]:
        return {"by_creator": state.CREATOR_LIST}

    def default_genesis(self) -> dict[str, Any]:
        return {"skills": []}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        # Verify the shape and the bound, then each skill as a Register would be checked
        if set(data) != {"skills"} or not isinstance(data["skills"], list):
            raise InvalidGenesisError("skills genesis needs exactly skills (a list)")
        if len(data["skills"]) > MAX_GENESIS_SKILLS:
            raise InvalidGenesisError(f"skills genesis holds at most {MAX_GENESIS_SKILLS} skills")
        seen: set[str] = set()
        for i, entry in enumerate(data["skills"]):
            where = f"skills.skills[{i}]"
            skill_id, skill = genesis_skill(entry, where)
            # Verify each id appears once
            if skill_id in seen:
                raise InvalidGenesisError(f"{where}: duplicate skill id")
            seen.add(skill_id)
            try:
                handlers.check_payout(skill.payout)
                if not skill.retired:
                    state.list_skill(ctx, skill.creator, skill_id)
            except ChainError as exc:
                raise InvalidGenesisError(f"{where}: {exc.message}") from None
            state.set_skill(ctx, skill_id, skill)

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        return {
            "skills": [
                {"skill_id": skill_id, **skill_json(skill)}
                for skill_id, skill in state.iter_skills(reader)
            ]
        }

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("skills/index", state.SKILLS_BY_CREATOR.check),
            Invariant("skills/listed", _listed_are_active),
            Invariant("skills/well-formed", _skills_well_formed),
        ]


def skill_json(skill: state.Skill) -> dict[str, Any]:
    """A skill as genesis files, the API and the CLI show it (addresses in bech32)."""
    return {
        **skill.to_value(),
        "creator": addr_text(skill.creator),
        "payout": addr_text(skill.payout),
    }


def genesis_skill(entry: Any, where: str) -> tuple[str, state.Skill]:
    """A skill from its genesis record, checked in full. Raises InvalidGenesisError."""
    if not isinstance(entry, dict) or set(entry) != GENESIS_FIELDS:
        raise InvalidGenesisError(f"{where} needs exactly {sorted(GENESIS_FIELDS)}")
    try:
        skill_id = SKILL_ID.parse(entry["skill_id"], "skill_id")
    except ChainError as exc:
        raise InvalidGenesisError(f"{where}: {exc.message}") from None
    creator = genesis_address(entry["creator"], where)
    payout = genesis_address(entry["payout"], where)
    # Verify the numbers: a fee from 1, counts and totals within 64 bits, totals consistent
    numbers = {n: entry[n] for n in ("fee", "registered_at", "uses", "paid", "settlements")}
    for name, n in numbers.items():
        if type(n) is not int or not (1 if name == "fee" else 0) <= n <= MAX_UINT64:
            raise InvalidGenesisError(f"{where}.{name} must be an integer within 64 bits")
    if not numbers["settlements"] <= numbers["uses"] <= numbers["paid"]:
        raise InvalidGenesisError(f"{where}: settlements <= uses <= paid (a fee is at least 1)")
    if type(entry["retired"]) is not bool:
        raise InvalidGenesisError(f"{where}.retired must be true or false")
    return skill_id, state.Skill(
        creator,
        payout,
        numbers["fee"],
        numbers["registered_at"],
        entry["retired"],
        numbers["uses"],
        numbers["paid"],
        numbers["settlements"],
    )


def _listed_are_active(reader: KVReader) -> str | None:
    """The creators' lists hold exactly the active skills, each under its creator."""
    active = {(s.creator, skill_id) for skill_id, s in state.iter_skills(reader) if not s.retired}
    listed = set(state.iter_listed(reader))
    if listed != active:
        return f"{len(listed ^ active)} skills listed or unlisted wrongly"
    return None


def _skills_well_formed(reader: KVReader) -> str | None:
    """Every record has a valid id, a fee from 1, and settlements <= uses <= paid (each
    settlement of a skill counts at least one use, each use at least 1 uvox)."""
    for skill_id, s in state.iter_skills(reader):
        if not state.is_skill_id(skill_id):
            return f"skill record under a malformed id {skill_id[:64]!r}"
        if not 1 <= s.fee <= MAX_UINT64 or not s.settlements <= s.uses <= s.paid <= MAX_UINT64:
            return f"skill {skill_id!r}: fee or totals out of bounds"
    return None
