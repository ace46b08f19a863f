"""Skills transitions: register, update, transfer and retire a skill; settle many skills' uses
in one message, the payer paying each skill's payout address count * fee."""

from __future__ import annotations

from dataclasses import replace

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    BlockedRecipientError,
    InsufficientFundsError,
    NotSkillCreatorError,
    SkillExistsError,
    SkillFeeOverflowError,
    SkillNotFoundError,
    SkillRetiredError,
    quote,
)
from voxpop.chain.modules.bank import state as bank
from voxpop.chain.modules.bounds import MAX_UINT64
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.skills import state
from voxpop.chain.modules.skills.messages import (
    MsgRegisterSkill,
    MsgRetireSkill,
    MsgSettle,
    MsgTransferSkill,
    MsgUpdateSkill,
)


def process_register(ctx: Context, msg: MsgRegisterSkill) -> None:
    # Verify the id is free (a retired skill keeps its id) and the payout may receive funds
    if state.get_skill(ctx, msg.skill_id) is not None:
        raise SkillExistsError(f"skill {quote(msg.skill_id)} is registered already")
    check_payout(msg.payout)
    state.list_skill(ctx, msg.creator, msg.skill_id)
    skill = state.Skill(msg.creator, msg.payout, msg.fee, registered_at=ctx.block.time_unix)
    state.set_skill(ctx, msg.skill_id, skill)
    ctx.emit(
        "skill_registered",
        skill_id=msg.skill_id,
        creator=addr_text(msg.creator),
        payout=addr_text(msg.payout),
        fee=str(msg.fee),
    )


def process_update(ctx: Context, msg: MsgUpdateSkill) -> None:
    skill = get_owned_skill(ctx, msg.skill_id, msg.creator)
    check_payout(msg.payout)
    state.set_skill(ctx, msg.skill_id, replace(skill, payout=msg.payout, fee=msg.fee))
    ctx.emit(
        "skill_updated",
        skill_id=msg.skill_id,
        payout=addr_text(msg.payout),
        fee=str(msg.fee),
    )


def process_transfer(ctx: Context, msg: MsgTransferSkill) -> None:
    skill = get_owned_skill(ctx, msg.skill_id, msg.creator)
    check_payout(msg.payout)
    state.unlist_skill(ctx, msg.creator, msg.skill_id)
    state.list_skill(ctx, msg.new_creator, msg.skill_id)
    state.set_skill(ctx, msg.skill_id, replace(skill, creator=msg.new_creator, payout=msg.payout))
    ctx.emit(
        "skill_transferred",
        skill_id=msg.skill_id,
        creator=addr_text(msg.new_creator),
        payout=addr_text(msg.payout),
    )


def process_retire(ctx: Context, msg: MsgRetireSkill) -> None:
    skill = get_owned_skill(ctx, msg.skill_id, msg.creator)
    state.unlist_skill(ctx, msg.creator, msg.skill_id)
    state.set_skill(ctx, msg.skill_id, replace(skill, retired=True))
    ctx.emit("skill_retired", skill_id=msg.skill_id)


def process_settle(ctx: Context, msg: MsgSettle) -> None:
    """Check every entry and the total first, then pay: the message pays all or nothing."""
    payments = compute_payments(ctx, msg)
    total = sum(amount for _, _, _, amount in payments)
    # Verify the payer holds the whole settlement (paying a skill of its own funds nothing early)
    balance = bank.get_balance(ctx, msg.payer)
    if balance < total:
        raise InsufficientFundsError(f"balance {balance} uvox is less than {total} uvox")
    for skill_id, skill, count, amount in payments:
        bank.send(ctx, msg.payer, skill.payout, amount)
        state.set_skill(
            ctx,
            skill_id,
            replace(
                skill,
                uses=state.saturating_add(skill.uses, count),
                paid=state.saturating_add(skill.paid, amount),
                settlements=state.saturating_add(skill.settlements, 1),
            ),
        )
        ctx.emit(
            "skill_paid",
            skill_id=skill_id,
            payout=addr_text(skill.payout),
            count=str(count),
            amount=str(amount),
        )
    ctx.emit(
        "skills_settled",
        payer=addr_text(msg.payer),
        skills=str(len(payments)),
        amount=str(total),
    )


def compute_payments(ctx: Context, msg: MsgSettle) -> list[tuple[str, state.Skill, int, int]]:
    """(skill id, skill, count, uvox) of each entry. Raises SkillNotFoundError,
    SkillRetiredError, SkillFeeOverflowError."""
    payments = []
    total = 0
    for skill_id, count in msg.uses:
        skill = state.get_skill(ctx, skill_id)
        # Verify the skill is registered and still takes settlements
        if skill is None:
            raise SkillNotFoundError(f"no skill {quote(skill_id)} is registered")
        if skill.retired:
            raise SkillRetiredError(f"skill {quote(skill_id)} is retired")
        amount = count * skill.fee
        total += amount
        # Verify the entry's amount and the running total fit 64 bits of uvox
        if total > MAX_UINT64:
            raise SkillFeeOverflowError(f"{count} uses of {quote(skill_id)} overflow 2^64-1 uvox")
        payments.append((skill_id, skill, count, amount))
    return payments


def get_owned_skill(ctx: Context, skill_id: str, creator: bytes) -> state.Skill:
    """The skill, checked to be registered, `creator`'s and not retired. Raises
    SkillNotFoundError, NotSkillCreatorError, SkillRetiredError."""
    skill = state.get_skill(ctx, skill_id)
    # Verify the skill exists, the signer owns it, and it is not retired
    if skill is None:
        raise SkillNotFoundError(f"no skill {quote(skill_id)} is registered")
    if skill.creator != creator:
        raise NotSkillCreatorError(f"the signer is not the creator of {quote(skill_id)}")
    if skill.retired:
        raise SkillRetiredError(f"skill {quote(skill_id)} is retired")
    return skill


def check_payout(payout: bytes) -> None:
    # Verify the payout address may receive funds (settlements would fail at a module account)
    if payout in bank.BLOCKED_RECIPIENTS:
        raise BlockedRecipientError("a module account cannot receive royalties")
