"""authz spend limits on every message type that declares what it spends: an owner caps what its
agent moves per day through channels/Open (the deposit), channels/TopUp (the amount) and
skills/Settle (the total at the skills' fees); the cap refuses with its code, counts again from 0
the next day, and revoking everything the agent holds stops it at once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.chain.harness import CHAIN_ID, Chain, key
from voxpop.chain import errors
from voxpop.chain.app import event_attrs
from voxpop.chain.genesis import default_app_state
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.authz.state import Grant, decode_grant
from voxpop.chain.modules.channels.state import decode_channel
from voxpop.chain.modules.feegrant.state import decode_allowance
from voxpop.chain.registry import default_modules
from voxpop.client.agent_grants import (
    AGENT_MSG_TYPES,
    DAY_SECONDS,
    FEE_ALLOWED_MSGS,
    SPENDING_MSG_TYPES,
    AgentCaps,
    authorize_msgs,
    granted_types,
    revoke_msgs,
)
from voxpop.client.tx import build_tx, msg_authz_exec, msg_authz_grant, msg_send, sign_tx
from voxpop.crypto.address import encode_address

OWNER, AGENT, PROVIDER, CREATOR = key(61), key(62), key(63), key(64)
OW, AG, PR, CR = (k.public_key.address for k in (OWNER, AGENT, PROVIDER, CREATOR))
VK = AGENT.public_key.raw  # the agent's key signs the channels' vouchers: no grant needed
SKILL = "skill-weather.openvoiceos"
GAS = 400_000
FEE = AuthParams().min_fee(GAS)
KNOWN = frozenset(t for m in default_modules() for t in m.msg_routes())
Msg = tuple[str, dict[str, Any]]


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    c = Chain.start(
        tmp_path / "state",
        [(OWNER, 1_000_000_000), (AGENT, 5_000_000), (PROVIDER, 1_000_000), (CREATOR, 1_000_000)],
    )
    yield c
    c.app.store.close()


# --- helpers ------------------------------------------------------------------------------------


def msg_open(deposit: int, payer: bytes = OW) -> Msg:
    return "channels/Open", {"payer": payer, "payee": PR, "voucher_key": VK, "deposit": deposit}


def msg_top_up(cid: bytes, amount: int) -> Msg:
    return "channels/TopUp", {"payer": OW, "channel_id": cid, "amount": amount}


def msg_settle(*uses: tuple[str, int]) -> Msg:
    return "skills/Settle", {"payer": OW, "uses": [[s, n] for s, n in uses]}


def grant(chain: Chain, msg_type: str, **limits: Any) -> None:
    res = chain.deliver(chain.tx(OWNER, [msg_authz_grant(OW, AG, msg_type, **limits)]))
    assert res.code == 0, res.log


def daily(chain: Chain, msg_type: str, cap: int) -> None:
    grant(chain, msg_type, period_seconds=DAY_SECONDS, period_limit=cap)


def agent_exec(chain: Chain, *msgs: Msg, fee_granter: bytes = b"") -> Any:
    """The agent runs `msgs` for the owner in one authz/Exec (its own fee, or the owner's)."""
    return chain.deliver(agent_tx(chain, [msg_authz_exec(AG, msgs)], fee_granter=fee_granter))


def agent_tx(chain: Chain, msgs: Sequence[Msg], *, fee_granter: bytes = b"") -> bytes:
    seq = chain.sequences.get(AG, 0)
    chain.sequences[AG] = seq + 1
    body = build_tx(
        chain_id=CHAIN_ID,
        pub_key=AGENT.public_key.raw,
        sequence=seq,
        msgs=msgs,
        fee=FEE,
        gas_limit=GAS,
        fee_granter=fee_granter,
    )
    return sign_tx(body, AGENT)


def grant_of(chain: Chain, msg_type: str) -> Grant | None:
    raw = chain.query("/authz/grant", OW + AG + msg_type.encode())
    return decode_grant(raw) if raw else None


def opened_channel(res: Any) -> bytes:
    assert res.code == 0, res.log
    opened = [event_attrs(e) for e in res.events if e.type == "channel_open"]
    return bytes.fromhex(opened[0]["channel_id"])


def register_skill(chain: Chain, fee: int) -> None:
    value = {"creator": CR, "skill_id": SKILL, "payout": CR, "fee_per_use": fee}
    res = chain.deliver(chain.tx(CREATOR, [("skills/Register", value)]))
    assert res.code == 0, res.log


# --- spend limits per type ----------------------------------------------------------------------


def test_open_under_the_daily_cap_then_the_next_day(chain: Chain) -> None:
    daily(chain, "channels/Open", 1_000)
    start = chain.time  # the grant's block: days are counted from it
    assert opened_channel(agent_exec(chain, msg_open(600)))
    owner_before = chain.balance(OWNER)
    # Past the cap: refused with its code, nothing moved, nothing counted
    res = agent_exec(chain, msg_open(401))
    assert res.code == errors.AuthorizationExceededError.code, res.log
    assert chain.balance(OWNER) == owner_before
    assert grant_of(chain, "channels/Open").limits.period_spent == 600  # type: ignore[union-attr]
    assert opened_channel(agent_exec(chain, msg_open(400)))
    assert agent_exec(chain, msg_open(1)).code == errors.AuthorizationExceededError.code
    # Still the same day one second before it ends
    chain.block([], advance=start + DAY_SECONDS - 1 - chain.time - 5)
    assert agent_exec(chain, msg_open(1)).code == errors.AuthorizationExceededError.code
    # The next day: the whole cap again, not more
    chain.block([], advance=1)
    assert opened_channel(agent_exec(chain, msg_open(1_000)))
    assert agent_exec(chain, msg_open(1)).code == errors.AuthorizationExceededError.code
    limits = grant_of(chain, "channels/Open").limits  # type: ignore[union-attr]
    assert (limits.period_start, limits.period_spent) == (start + DAY_SECONDS, 1_000)


def test_top_up_counts_its_amount(chain: Chain) -> None:
    cid = opened_channel(chain.deliver(chain.tx(OWNER, [msg_open(5_000)])))
    daily(chain, "channels/TopUp", 700)
    assert agent_exec(chain, msg_top_up(cid, 500)).code == 0
    assert agent_exec(chain, msg_top_up(cid, 201)).code == errors.AuthorizationExceededError.code
    assert agent_exec(chain, msg_top_up(cid, 200)).code == 0
    assert decode_channel(chain.query("/channels/channel", cid)).deposit == 5_700


def test_settle_counts_the_total_at_the_skills_current_fees(chain: Chain) -> None:
    register_skill(chain, fee=7)
    daily(chain, "skills/Settle", 100)
    assert agent_exec(chain, msg_settle((SKILL, 10))).code == 0  # 70
    res = agent_exec(chain, msg_settle((SKILL, 5)))  # 35 > the 30 left
    assert res.code == errors.AuthorizationExceededError.code, res.log
    value = {"creator": CR, "skill_id": SKILL, "payout": CR, "fee_per_use": 3}
    assert chain.deliver(chain.tx(CREATOR, [("skills/Update", value)])).code == 0
    assert agent_exec(chain, msg_settle((SKILL, 10))).code == 0  # 30 at the new fee
    assert grant_of(chain, "skills/Settle").limits.period_spent == 100  # type: ignore[union-attr]
    assert chain.balance(CREATOR) == 1_000_000 + 100 - 2 * AuthParams().min_fee(200_000)


def test_invalid_settle_fails_with_its_own_code_and_counts_nothing(chain: Chain) -> None:
    daily(chain, "skills/Settle", 100)
    res = agent_exec(chain, msg_settle(("ovos-skill-nothing.nobody", 1)))
    assert res.code == errors.SkillNotFoundError.code, res.log
    assert grant_of(chain, "skills/Settle").limits.period_spent == 0  # type: ignore[union-attr]


def test_invalid_without_a_grant_answers_before_what_it_would_spend(chain: Chain) -> None:
    res = agent_exec(chain, msg_settle(("ovos-skill-nothing.nobody", 1)))
    assert res.code == errors.NoAuthorizationError.code, res.log


def test_grant_without_limits_counts_nothing(chain: Chain) -> None:
    grant(chain, "channels/Open")
    assert opened_channel(agent_exec(chain, msg_open(50_000_000)))
    limits = grant_of(chain, "channels/Open").limits  # type: ignore[union-attr]
    assert (limits.spend_limit, limits.period_spent) == (0, 0)


def test_total_spend_limit_ends_the_grant(chain: Chain) -> None:
    cid = opened_channel(chain.deliver(chain.tx(OWNER, [msg_open(1_000)])))
    grant(chain, "channels/TopUp", spend_limit=500)
    assert agent_exec(chain, msg_top_up(cid, 200)).code == 0
    assert grant_of(chain, "channels/TopUp").limits.spend_limit == 300  # type: ignore[union-attr]
    assert agent_exec(chain, msg_top_up(cid, 300)).code == 0
    assert grant_of(chain, "channels/TopUp") is None
    assert agent_exec(chain, msg_top_up(cid, 1)).code == errors.NoAuthorizationError.code


def test_exec_spending_is_all_or_nothing(chain: Chain) -> None:
    daily(chain, "channels/Open", 1_000)
    before = chain.balance(OWNER)
    res = agent_exec(chain, msg_open(600), msg_open(600))
    assert res.code == errors.AuthorizationExceededError.code, res.log
    assert chain.balance(OWNER) == before
    assert grant_of(chain, "channels/Open").limits.period_spent == 0  # type: ignore[union-attr]


def test_invalid_spend_limits_on_types_that_spend_nothing(chain: Chain) -> None:
    for msg_type in ("channels/Claim", "channels/Settle", "skills/Register", "bank/MultiSend"):
        for limits in ({"spend_limit": 5}, {"period_seconds": 60, "period_limit": 5}):
            msg = msg_authz_grant(OW, AG, msg_type, **limits)
            res = chain.check(chain.tx(OWNER, [msg], sequence=0))
            assert res.code == errors.InvalidMessageError.code, (msg_type, res.log)
    spending = ("bank/Send", "channels/Open", "channels/TopUp", "skills/Settle")
    for seq, msg_type in enumerate(spending):
        msg = msg_authz_grant(OW, AG, msg_type, period_seconds=60, period_limit=5)
        assert chain.check(chain.tx(OWNER, [msg], sequence=seq)).code == 0


def test_invalid_genesis_spend_limit_on_a_type_that_spends_nothing(tmp_path: Path) -> None:
    def grant_entry(msg_type: str) -> dict[str, Any]:
        return {
            "granter": encode_address(OW),
            "grantee": encode_address(AG),
            "msg_type": msg_type,
            "spend_limit": 0,
            "period_seconds": DAY_SECONDS,
            "period_limit": 10,
            "period_start": 0,
            "period_spent": 0,
            "expiration": 0,
            "uses_left": 0,
        }

    state = default_app_state([(OW, 10**9)])
    state["authz"] = {"grants": [grant_entry("channels/Open")]}
    chain = Chain.start(tmp_path / "ok", app_state=state)
    assert grant_of(chain, "channels/Open") is not None
    chain.app.store.close()
    state["authz"] = {"grants": [grant_entry("channels/Claim")]}
    with pytest.raises(errors.InvalidGenesisError):
        Chain.start(tmp_path / "bad", app_state=state)


# --- the agent's whole authorization (client/agent_grants.py) ---------------------------------


def authorize(chain: Chain, caps: AgentCaps) -> None:
    msgs = [m.raw() for m in authorize_msgs(OW, AG, caps, KNOWN)]
    res = chain.deliver(chain.tx(OWNER, msgs, gas_limit=GAS))
    assert res.code == 0, res.log


def test_agent_authorization_then_revocation_stops_every_message(chain: Chain) -> None:
    register_skill(chain, fee=10)
    authorize(chain, AgentCaps(cap_per_day=1_000, fee_cap_per_day=100_000))
    types = granted_types(KNOWN)
    assert set(types) >= SPENDING_MSG_TYPES and set(types) <= set(AGENT_MSG_TYPES)
    for t in types:
        limits = grant_of(chain, t).limits  # type: ignore[union-attr]
        capped = (DAY_SECONDS, 1_000) if t in SPENDING_MSG_TYPES else (0, 0)
        assert (limits.period_seconds, limits.period_limit) == capped, t
    allowance = decode_allowance(chain.query("/feegrant/allowance", OW + AG))
    assert (allowance.limits.period_limit, allowance.allowed_msgs) == (100_000, FEE_ALLOWED_MSGS)
    # The agent acts with the owner paying its fees, under the caps: each spending type has its
    # own, so 1_000 a day through each of them
    agent_balance = chain.balance(AGENT)
    cid = opened_channel(agent_exec(chain, msg_open(800), fee_granter=OW))
    both = agent_exec(chain, msg_top_up(cid, 1_000), msg_settle((SKILL, 100)), fee_granter=OW)
    assert both.code == 0, both.log
    for over in (msg_open(201), msg_top_up(cid, 1), msg_settle((SKILL, 1))):
        res = agent_exec(chain, over, fee_granter=OW)
        assert res.code == errors.AuthorizationExceededError.code, res.log
    assert opened_channel(agent_exec(chain, msg_open(200), fee_granter=OW))
    assert chain.balance(AGENT) == agent_balance
    # The allowance pays for acting for the owner only
    own = agent_tx(chain, [msg_send(AG, PR, 1)], fee_granter=OW)
    assert chain.deliver(own).code == errors.MessageNotAllowedError.code
    chain.sequences[AG] -= 1  # refused before its fee: the sequence did not move
    # Revoke everything in one tx, from what the chain says the agent holds
    held = [t for t in KNOWN if grant_of(chain, t) is not None]
    msgs = [m.raw() for m in revoke_msgs(OW, AG, held, has_allowance=True)]
    revoke = chain.tx(OWNER, msgs, gas_limit=GAS)
    # Queued behind the revocation in the same block, every agent message fails
    attempts = [
        agent_tx(chain, [msg_authz_exec(AG, [m])])
        for m in (msg_open(1, payer=OW), msg_top_up(cid, 1), msg_settle((SKILL, 1)))
    ]
    paid = agent_tx(chain, [msg_authz_exec(AG, [msg_open(1)])], fee_granter=OW)
    codes = [r.code for r in chain.block([revoke, *attempts, paid])]
    assert codes[0] == 0
    assert codes[1:4] == [errors.NoAuthorizationError.code] * 3
    assert codes[4] == errors.NoAllowanceError.code
    assert all(grant_of(chain, t) is None for t in KNOWN)
    assert chain.query("/feegrant/allowance", OW + AG) == b""
    with pytest.raises(ValueError):
        revoke_msgs(OW, AG, [], has_allowance=False)


def test_invalid_caps(chain: Chain) -> None:
    for bad in ({"cap_per_day": 0}, {"fee_cap_per_day": -1}, {"expiration": -5}):
        with pytest.raises(ValueError):
            AgentCaps(**bad)
    # An authorization that has already ended is refused by the chain, nothing granted
    msgs = [m.raw() for m in authorize_msgs(OW, AG, AgentCaps(expiration=chain.time), KNOWN)]
    res = chain.deliver(chain.tx(OWNER, msgs, gas_limit=GAS))
    assert res.code == errors.AuthorizationExpiredError.code
    assert all(grant_of(chain, t) is None for t in KNOWN)


# --- what the docs say the agent holds ----------------------------------------------------------


def test_docs_keys_lists_the_agents_grants() -> None:
    """docs/keys.md's table of what `voxpop agent authorize` grants is the code's list, with a
    daily cap on exactly the types that declare what they spend."""
    text = (Path(__file__).parents[2] / "docs" / "keys.md").read_text()
    section = text.split("## What `voxpop agent authorize AGENT` grants", 1)[1]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| `")]
    documented = [cells[0].strip().strip("`") for cells in rows]
    assert documented == list(AGENT_MSG_TYPES)
    capped = {t for t, cells in zip(documented, rows, strict=True) if cells[2].strip() != "—"}
    assert capped == SPENDING_MSG_TYPES
    routes = {t: r for m in default_modules() for t, r in m.msg_routes().items()}
    for t in granted_types(KNOWN):
        assert (routes[t].spend_of is not None) == (t in SPENDING_MSG_TYPES), t
    assert "settings/Rotate" not in AGENT_MSG_TYPES
