"""`voxpop tx skills register|update|transfer|retire|settle` and `voxpop query skills
skill|by-creator`: skill royalties (the chain's skills module)."""

from __future__ import annotations

from typing import Any

from voxpop.chain.modules.skills.messages import (
    MsgRegisterSkill,
    MsgRetireSkill,
    MsgSettle,
    MsgTransferSkill,
    MsgUpdateSkill,
)
from voxpop.chain.modules.skills.module import skill_json
from voxpop.chain.modules.skills.state import MAX_USES_PER_SETTLE, decode_skill
from voxpop.cli.connect import client_errors
from voxpop.cli.declare import ADDRESS, TEXT, Arg, Inputs, Kind, QueryCommand, TxCommand
from voxpop.cli.options import StateQueryOptions, TxOptions
from voxpop.cli.output import OutputFormat, fail, kv_table, rows_table
from voxpop.client import VoxClient
from voxpop.crypto import encode_address

SKILL_ID = Arg("skill_id", "the OVOS skill id, e.g. skill-weather.openvoiceos", TEXT)
FEE = Arg("fee_per_use", "uvox per use, e.g. 1000 or 0.001vox")


def _parse_uses(values: list[str] | None, inputs: Inputs, label: str) -> list[list[Any]]:
    """`SKILL_ID=COUNT ...` as the message's `[[skill_id, count], ...]` (the chain checks ids,
    bounds and repeats)."""
    uses: list[list[Any]] = []
    for text in values or []:
        skill_id, sep, count = text.rpartition("=")
        # Verify SKILL_ID=COUNT with a decimal count
        if not sep or not skill_id or not count.isdecimal():
            fail(
                "invalid_message",
                f"{label}: expected SKILL_ID=COUNT, got {text[:64]!r}",
                inputs.output,
            )
        uses.append([skill_id, int(count)])
    return uses


USES = Kind(list[str], _parse_uses)


def _read_skill(client: VoxClient, skill_id: str, fmt: OutputFormat) -> Any:
    with client_errors(fmt):
        result = client.query("/skills/skill", skill_id.encode())
    if not result.value:
        fail("skill_not_found", f"no skill {skill_id[:64]!r} is registered", fmt)
    return decode_skill(result.value)


def payout_or_current(opts: TxOptions, value: dict[str, Any]) -> dict[str, Any]:
    """update: a payout left out stays as the chain has it now."""
    if value["payout"] is not None:
        return value
    with VoxClient(opts.node) as client:
        current = _read_skill(client, value["skill_id"], opts.output)
    return {**value, "payout": current.payout}


def payout_or_creator(opts: TxOptions, value: dict[str, Any]) -> dict[str, Any]:
    """register: royalties go to the creator unless --payout says otherwise."""
    return {**value, "payout": value["payout"] or value["creator"]}


def payout_or_new_creator(opts: TxOptions, value: dict[str, Any]) -> dict[str, Any]:
    """transfer: royalties go to the new creator unless --payout says otherwise."""
    return {**value, "payout": value["payout"] or value["new_creator"]}


def payout_arg(default_help: str) -> Arg:
    return Arg(
        "payout",
        f"where royalties go: vox1 address or key name (default: {default_help})",
        ADDRESS,
        "--payout",
        None,
    )


TX_COMMANDS = (
    TxCommand(
        module="skills",
        verb="register",
        msg=MsgRegisterSkill,
        help="Register SKILL_ID as FROM's skill: devices pay FEE_PER_USE for each use they settle.",
        args=(SKILL_ID, FEE, payout_arg("FROM")),
        complete=payout_or_creator,
    ),
    TxCommand(
        module="skills",
        verb="update",
        msg=MsgUpdateSkill,
        help="Set FEE_PER_USE (and with --payout, the payout address) of FROM's skill SKILL_ID.",
        args=(SKILL_ID, FEE, payout_arg("unchanged")),
        complete=payout_or_current,
    ),
    TxCommand(
        module="skills",
        verb="transfer",
        msg=MsgTransferSkill,
        help="Hand FROM's skill SKILL_ID to NEW_CREATOR.",
        args=(
            SKILL_ID,
            Arg("new_creator", "who owns it from now: vox1 address or key name", ADDRESS),
            payout_arg("NEW_CREATOR"),
        ),
        complete=payout_or_new_creator,
    ),
    TxCommand(
        module="skills",
        verb="retire",
        msg=MsgRetireSkill,
        help="Retire FROM's skill SKILL_ID for good: no more settlements; its id stays taken.",
        args=(SKILL_ID,),
    ),
    TxCommand(
        module="skills",
        verb="settle",
        msg=MsgSettle,
        help="Pay, from FROM, each skill COUNT times its fee: one message for up to "
        f"{MAX_USES_PER_SETTLE} skills. Only the counts go on chain.",
        args=(Arg("uses", "SKILL_ID=COUNT, one per skill", USES, metavar="USES..."),),
    ),
)


def read_skill_answer(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    skill_id = given["skill_id"]
    result = client.query("/skills/skill", skill_id.encode(), height=opts.height, prove=opts.prove)
    skill = decode_skill(result.value) if result.value else None
    return {
        "skill_id": skill_id,
        "skill": skill_json(skill) if skill else None,
        "height": result.height,
        "verified": result.verified,
    }


def render_skill(data: dict[str, Any]) -> None:
    skill = data["skill"] or {}
    rows = {"skill_id": data["skill_id"], **(skill or {"skill": "(not registered)"})}
    for name in ("fee", "paid"):
        if name in rows:
            rows[name] = f"{rows[name]} uvox"
    rows["height"] = data["height"]
    if data.get("verified"):
        rows["proof"] = "verified against the signed block header"
    kv_table({k: str(v) for k, v in rows.items()})


def read_by_creator(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    """Every active skill of a creator: a list query, so with --prove the list is proven whole."""
    if opts.height is not None:
        fail("invalid_height", "a list is answered at the latest height only", opts.output)
    creator = given["creator"]
    answer = client.query_list("/skills/by_creator", creator, prove=opts.prove)
    skills = [
        {"skill_id": item.id.decode(), **skill_json(decode_skill(item.value))}
        for item in answer.items
    ]
    return {
        "creator": encode_address(creator),
        "skills": skills,
        "height": answer.height,
        "verified": answer.verified,
    }


def render_by_creator(data: dict[str, Any]) -> None:
    kv_table({k: str(v) for k, v in data.items() if k != "skills"})
    rows_table(
        [{**s, "fee": f"{s['fee']} uvox", "paid": f"{s['paid']} uvox"} for s in data["skills"]],
        ["skill_id", "payout", "fee", "uses", "paid"],
    )


QUERY_COMMANDS = (
    QueryCommand(
        module="skills",
        what="skill",
        help="A skill: creator, payout, fee, and the uses and uvox settlements paid it.",
        read=read_skill_answer,
        render=render_skill,
        args=(SKILL_ID,),
    ),
    QueryCommand(
        module="skills",
        what="by-creator",
        help="Every active skill of CREATOR; with --prove the list is proven complete.",
        read=read_by_creator,
        render=render_by_creator,
        args=(Arg("creator", "vox1 address or key name", ADDRESS),),
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS)

__all__ = ["COMMANDS"]
