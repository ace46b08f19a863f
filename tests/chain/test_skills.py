"""skills: register, update, transfer, retire, and settle many skills' uses in one message; the
payer's agent settles under authz; every bad input is refused with its code and changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.chain.conftest import ALICE, BOB, CAROL
from tests.chain.harness import Chain, send_msg
from voxpop.chain import errors
from voxpop.chain.abci import RequestQuery
from voxpop.chain.app import event_attrs
from voxpop.chain.genesis import default_app_state
from voxpop.chain.module_accounts import module_address
from voxpop.chain.modules.bounds import MAX_UINT64
from voxpop.chain.modules.skills import Skill, is_skill_id, read_skill, settle_msgs
from voxpop.chain.modules.skills.module import SkillsModule
from voxpop.chain.modules.skills.state import (
    MAX_SKILL_ID_LEN,
    MAX_USES_PER_SETTLE,
    decode_skill,
)
from voxpop.chain.tx import RawMsg, decode_tx
from voxpop.client.lists import verify_list
from voxpop.client.tx import msg_authz_exec, msg_authz_grant
from voxpop.crypto.address import encode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.store.proof import Proof, verify_proof

A, B, C = (k.public_key.address for k in (ALICE, BOB, CAROL))
WEATHER = "skill-weather.openvoiceos"
JOKES = "ovos-skill-jokes.jarbasskills"
HELLO = "ovos-skill-hello-world.openvoiceos"
Msg = tuple[str, dict[str, Any]]
BLOCKED = module_address("distribution")  # a module account: it cannot receive funds


# --- messages -------------------------------------------------------------------------------------


def register(creator: bytes, skill_id: str, fee: Any, payout: bytes | None = None) -> Msg:
    value = {
        "creator": creator,
        "skill_id": skill_id,
        "payout": payout or creator,
        "fee_per_use": fee,
    }
    return "skills/Register", value


def update(creator: bytes, skill_id: str, fee: Any, payout: bytes) -> Msg:
    value = {"creator": creator, "skill_id": skill_id, "payout": payout, "fee_per_use": fee}
    return "skills/Update", value


def transfer(creator: bytes, skill_id: str, new_creator: bytes, payout: bytes) -> Msg:
    return "skills/Transfer", {
        "creator": creator,
        "skill_id": skill_id,
        "new_creator": new_creator,
        "payout": payout,
    }


def retire(creator: bytes, skill_id: str) -> Msg:
    return "skills/Retire", {"creator": creator, "skill_id": skill_id}


def settle(payer: bytes, *uses: tuple[Any, Any]) -> Msg:
    return "skills/Settle", {"payer": payer, "uses": [list(u) for u in uses]}


# --- helpers --------------------------------------------------------------------------------------


def skill(chain: Chain, skill_id: str) -> Skill | None:
    raw = chain.query("/skills/skill", skill_id.encode())
    return decode_skill(raw) if raw else None


def listed(chain: Chain, creator: bytes) -> list[str]:
    """The creator's skills, from the list query verified against the app hash."""
    res = chain.app.query(RequestQuery("/skills/by_creator", creator, prove=True))
    assert res.code == 0, res.log
    path = "/skills/by_creator"
    items = verify_list(chain.app.last_app_hash, path, creator, res.key, res.value, res.proof)
    return [i.id.decode() for i in items]


def run(chain: Chain, who: PrivateKey, *msgs: Msg) -> Any:
    result = chain.deliver(chain.tx(who, list(msgs)))
    assert result.code == 0, result.log
    return result


def refused(chain: Chain, who: PrivateKey, *msgs: Msg) -> int:
    """The code a tx of `msgs` fails with (at check_tx, or else in its block), checking it changed
    no state but the signer's sequence and fee."""
    before = chain.snapshot()
    tx = chain.tx(who, list(msgs))
    code = chain.check(tx).code
    if code != 0:
        chain.sequences[who.public_key.address] -= 1
        chain.block([])
    else:
        code = chain.deliver(tx).code
    assert code != 0
    after = chain.snapshot()
    changed = {k for k in set(after) | set(before) if after.get(k) != before.get(k)}
    # Only the signer's sequence and the fee moved (a tx failing in its block still pays it)
    fee_keys = {
        b"bank/balance/" + who.public_key.address,
        b"bank/balance/" + module_address("fee_collector"),
    }
    assert not {k for k in changed if k.startswith(b"skills/")}
    assert {k for k in changed if k.startswith(b"bank/")} <= fee_keys
    return code


@pytest.fixture
def skills(chain: Chain) -> Chain:
    """ALICE created WEATHER (fee 3) paying CAROL and JOKES (fee 10) paying herself."""
    run(chain, ALICE, register(A, WEATHER, 3, C), register(A, JOKES, 10))
    return chain


# --- register and read ----------------------------------------------------------------------------


def test_register(chain: Chain) -> None:
    result = run(chain, ALICE, register(A, WEATHER, 3, C))
    assert skill(chain, WEATHER) == Skill(A, C, 3, registered_at=chain.time)
    assert listed(chain, A) == [WEATHER]
    assert listed(chain, B) == []
    events = [event_attrs(e) for e in result.events if e.type == "skill_registered"]
    assert events == [
        {"skill_id": WEATHER, "creator": encode_address(A), "payout": encode_address(C), "fee": "3"}
    ]
    assert read_skill(chain.app.committed, WEATHER) == skill(chain, WEATHER)


def test_skill_query_is_proven(skills: Chain) -> None:
    res = skills.app.query(RequestQuery("/skills/skill", WEATHER.encode(), prove=True))
    assert res.code == 0
    assert verify_proof(skills.app.last_app_hash, res.key, res.value, Proof.decode(res.proof))
    absent = skills.app.query(RequestQuery("/skills/skill", HELLO.encode(), prove=True))
    assert absent.code == 0 and not absent.value
    assert verify_proof(skills.app.last_app_hash, absent.key, None, Proof.decode(absent.proof))


@pytest.mark.parametrize(
    "skill_id",
    [
        "skill-weather.openvoiceos",
        "ovos-skill-hello-world.openvoiceos",
        "mycroft-joke.forslund",
        "skill_x.a",
        "a.b.c-d",
        "r" * 100 + "." + "a" * 39,
    ],
)
def test_skill_ids(skill_id: str) -> None:
    assert is_skill_id(skill_id)


@pytest.mark.parametrize(
    "skill_id",
    [
        "",
        "noauthor",
        "Skill-Weather.OpenVoiceOS",  # OVOS lowercases ids
        "skill weather.openvoiceos",
        "skill-weather.",
        ".openvoiceos",
        "skill-weather.open_voice",  # an author holds no _
        "skill-weather.openvoiceos\n",
        "-skill.author",
        "skill.-author",
        "r" * MAX_SKILL_ID_LEN + ".a",
        "skíll.author",
    ],
)
def test_invalid_skill_id(chain: Chain, skill_id: str) -> None:
    assert not is_skill_id(skill_id)
    assert refused(chain, ALICE, register(A, skill_id, 3)) == errors.InvalidSkillIdError.code


# --- settle ---------------------------------------------------------------------------------------


def test_settle_pays_each_skill_exactly(skills: Chain) -> None:
    run(skills, ALICE, register(A, HELLO, 7, B))
    before = {who: skills.balance(who) for who in (A, B, C)}
    tx = skills.tx(BOB, [settle(B, (WEATHER, 4), (JOKES, 2), (HELLO, 1))], fee=500)
    result = skills.deliver(tx)
    assert result.code == 0, result.log
    # BOB pays 4*3 to CAROL, 2*10 to ALICE and 1*7 to himself, and the fee
    assert skills.balance(C) == before[C] + 12
    assert skills.balance(A) == before[A] + 20
    assert skills.balance(B) == before[B] - 12 - 20 - 500
    weather, jokes = skill(skills, WEATHER), skill(skills, JOKES)
    assert weather is not None and (weather.uses, weather.paid, weather.settlements) == (4, 12, 1)
    assert jokes is not None and (jokes.uses, jokes.paid, jokes.settlements) == (2, 20, 1)
    paid = [event_attrs(e) for e in result.events if e.type == "skill_paid"]
    assert [(p["skill_id"], p["count"], p["amount"]) for p in paid] == [
        (WEATHER, "4", "12"),
        (JOKES, "2", "20"),
        (HELLO, "1", "7"),
    ]
    settled = [event_attrs(e) for e in result.events if e.type == "skills_settled"]
    assert settled == [{"payer": encode_address(B), "skills": "3", "amount": "39"}]


def test_settlements_add_up(skills: Chain) -> None:
    run(skills, BOB, settle(B, (WEATHER, 4)))
    run(skills, BOB, settle(B, (WEATHER, 5), (JOKES, 1)))
    weather = skill(skills, WEATHER)
    assert weather is not None and (weather.uses, weather.paid, weather.settlements) == (9, 27, 2)


def test_settle_pays_the_current_terms(skills: Chain) -> None:
    run(skills, ALICE, update(A, WEATHER, 5, B))
    before_b, before_c = skills.balance(B), skills.balance(C)
    run(skills, ALICE, settle(A, (WEATHER, 2)))
    assert skills.balance(B) == before_b + 10
    assert skills.balance(C) == before_c
    weather = skill(skills, WEATHER)
    assert weather is not None and (weather.fee, weather.payout, weather.paid) == (5, B, 10)


def test_settle_counts_only(skills: Chain) -> None:
    """A settlement carries skill ids and counts, nothing of what was said."""
    raw = skills.tx(BOB, [settle(B, (WEATHER, 4))])
    assert skills.deliver(raw).code == 0
    assert decode_tx(raw).body.msgs == (
        RawMsg("skills/Settle", {"payer": B, "uses": [[WEATHER, 4]]}),
    )


# --- update, transfer, retire ---------------------------------------------------------------------


def test_transfer(skills: Chain) -> None:
    run(skills, ALICE, transfer(A, WEATHER, B, B))
    assert listed(skills, A) == [JOKES]
    assert listed(skills, B) == [WEATHER]
    weather = skill(skills, WEATHER)
    assert weather is not None and (weather.creator, weather.payout) == (B, B)
    # The old creator no longer may change it; the new one may
    assert refused(skills, ALICE, update(A, WEATHER, 1, A)) == errors.NotSkillCreatorError.code
    run(skills, BOB, update(B, WEATHER, 9, C))
    assert refused(skills, ALICE, transfer(A, JOKES, A, A)) == errors.InvalidMessageError.code


def test_retire(skills: Chain) -> None:
    run(skills, BOB, settle(B, (WEATHER, 4)))
    result = run(skills, ALICE, retire(A, WEATHER))
    assert [event_attrs(e) for e in result.events if e.type == "skill_retired"] == [
        {"skill_id": WEATHER}
    ]
    assert listed(skills, A) == [JOKES]
    weather = skill(skills, WEATHER)
    assert weather is not None and weather.retired and (weather.uses, weather.paid) == (4, 12)
    # Retired for good: no settlement, change or re-registration, by anyone
    assert refused(skills, BOB, settle(B, (JOKES, 1), (WEATHER, 1))) == (
        errors.SkillRetiredError.code
    )
    for msg in (update(A, WEATHER, 1, A), transfer(A, WEATHER, B, B), retire(A, WEATHER)):
        assert refused(skills, ALICE, msg) == errors.SkillRetiredError.code
    assert refused(skills, BOB, register(B, WEATHER, 1)) == errors.SkillExistsError.code


def test_only_the_creator_changes_a_skill(skills: Chain) -> None:
    for msg in (update(B, WEATHER, 1, B), transfer(B, WEATHER, C, C), retire(B, WEATHER)):
        assert refused(skills, BOB, msg) == errors.NotSkillCreatorError.code
    # Naming the creator as signer without its key
    assert refused(skills, BOB, retire(A, WEATHER)) == errors.UnauthorizedError.code


# --- settling for another account: authz ----------------------------------------------------------


def test_agent_settles_for_the_payer_under_authz(skills: Chain) -> None:
    # ALICE lets BOB (her device's agent) settle for her, and only that
    grant = msg_authz_grant(A, B, "skills/Settle")
    run(skills, ALICE, grant)
    before_a, before_b, before_c = skills.balance(A), skills.balance(B), skills.balance(C)
    tx = skills.tx(BOB, [msg_authz_exec(B, [settle(A, (WEATHER, 5))])], fee=300)
    result = skills.deliver(tx)
    assert result.code == 0, result.log
    assert skills.balance(C) == before_c + 15  # from ALICE's funds
    assert skills.balance(A) == before_a - 15
    assert skills.balance(B) == before_b - 300  # the agent pays only the fee
    weather = skill(skills, WEATHER)
    assert weather is not None and weather.uses == 5


def test_invalid_settlement_for_another_account(skills: Chain) -> None:
    run(skills, ALICE, send_msg(ALICE, CAROL, 1_000_000))
    # CAROL holds no grant from ALICE: through Exec, or naming ALICE as the payer directly
    exec_msg = msg_authz_exec(C, [settle(A, (WEATHER, 5))])
    assert refused(skills, CAROL, exec_msg) == errors.NoAuthorizationError.code
    assert refused(skills, CAROL, settle(A, (WEATHER, 5))) == errors.UnauthorizedError.code
    # A grant to BOB is no grant to CAROL
    run(skills, ALICE, msg_authz_grant(A, B, "skills/Settle"))
    assert refused(skills, CAROL, exec_msg) == errors.NoAuthorizationError.code
    # A grant of bank/Send does not cover settlements
    run(skills, ALICE, msg_authz_grant(A, C, "bank/Send"))
    assert refused(skills, CAROL, exec_msg) == errors.NoAuthorizationError.code


# --- bad input: refused with its code, nothing changes --------------------------------------------


def test_invalid_settlements(skills: Chain) -> None:
    cases: list[tuple[Msg, type[errors.ChainError]]] = [
        (settle(B, (HELLO, 1)), errors.SkillNotFoundError),  # never registered
        (settle(B, (WEATHER, 1), (HELLO, 1)), errors.SkillNotFoundError),  # one bad entry
        (settle(B, (WEATHER, 1), (WEATHER, 2)), errors.DuplicateSkillUseError),
        (settle(B, (WEATHER, 0)), errors.InvalidMessageError),
        (settle(B, (WEATHER, -1)), errors.InvalidMessageError),
        (settle(B, (WEATHER, 1 << 64)), errors.TxDecodeError),  # beyond CBOR's 64-bit ints
        (settle(B, (WEATHER, True)), errors.InvalidMessageError),
        (settle(B, (WEATHER.upper(), 1)), errors.InvalidSkillIdError),
        (settle(B), errors.InvalidMessageError),  # no entries
        (settle(B, (WEATHER, 1, 2)), errors.InvalidMessageError),
        (("skills/Settle", {"payer": B, "uses": "x"}), errors.InvalidMessageError),
        (settle(B, (WEATHER, 2_000_000)), errors.InsufficientFundsError),  # BOB holds 5 VOX
        # count * fee overflows 64 bits
        (settle(B, (WEATHER, MAX_UINT64 // 3 + 1)), errors.SkillFeeOverflowError),
        # each entry fits, their total does not
        (
            settle(B, (WEATHER, MAX_UINT64 // 3), (JOKES, MAX_UINT64 // 10)),
            errors.SkillFeeOverflowError,
        ),
    ]
    ids = [f"skill-{i}.tester" for i in range(MAX_USES_PER_SETTLE + 1)]
    cases.append((settle(B, *((i, 1) for i in ids)), errors.InvalidMessageError))
    for msg, error in cases:
        assert refused(skills, BOB, msg) == error.code, msg
    weather = skill(skills, WEATHER)
    assert weather is not None and (weather.uses, weather.paid) == (0, 0)


def test_invalid_fee_overflow_on_register(chain: Chain) -> None:
    assert refused(chain, ALICE, register(A, WEATHER, 0)) == errors.InvalidAmountError.code
    assert refused(chain, ALICE, register(A, WEATHER, 1 << 64)) == errors.TxDecodeError.code
    run(chain, ALICE, register(A, WEATHER, MAX_UINT64))
    # The largest fee settles once, not twice
    assert refused(chain, ALICE, settle(A, (WEATHER, 2))) == errors.SkillFeeOverflowError.code


def test_invalid_registrations(skills: Chain) -> None:
    collector = BLOCKED
    cases: list[tuple[Msg, type[errors.ChainError]]] = [
        (register(A, WEATHER, 1), errors.SkillExistsError),
        (register(A, HELLO, 1, collector), errors.BlockedRecipientError),
        (register(A, HELLO, 1, b"short"), errors.InvalidAddressError),
        (register(A, HELLO, "1"), errors.InvalidAmountError),
        (update(A, HELLO, 1, A), errors.SkillNotFoundError),
        (update(A, WEATHER, 1, collector), errors.BlockedRecipientError),
        (transfer(A, WEATHER, B, collector), errors.BlockedRecipientError),
        (retire(A, HELLO), errors.SkillNotFoundError),
    ]
    for msg, error in cases:
        assert refused(skills, ALICE, msg) == error.code, msg


def test_invalid_list_full(tmp_path: Path) -> None:
    from voxpop.chain.modules.skills.state import MAX_SKILLS_PER_CREATOR

    entries = [
        genesis_skill(skill_id=f"s{i}.tester", creator=encode_address(A))
        for i in range(MAX_SKILLS_PER_CREATOR)
    ]
    state = default_app_state([(A, 10**9)])
    state["skills"] = {"skills": entries}
    chain = Chain.start(tmp_path / "full", app_state=state)
    assert refused(chain, ALICE, register(A, HELLO, 1)) == errors.ListFullError.code
    run(chain, ALICE, retire(A, "s0.tester"))  # retiring frees a slot
    run(chain, ALICE, register(A, HELLO, 1))
    chain.app.store.close()


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/skills/skill", b""),
        ("/skills/skill", b"NotAnId"),
        ("/skills/skill", b"\xff\xfe.x"),
        ("/skills/skill", b"a" * 200 + b".b"),
        ("/skills/by_creator", b"short"),
    ],
)
def test_invalid_query_data(chain: Chain, path: str, data: bytes) -> None:
    res = chain.app.query(RequestQuery(path, data, 0))
    assert res.code == errors.InvalidQueryError.code


# --- genesis --------------------------------------------------------------------------------------


def genesis_skill(**fields: Any) -> dict[str, Any]:
    return {
        "skill_id": WEATHER,
        "creator": encode_address(A),
        "payout": encode_address(C),
        "fee": 3,
        "retired": False,
        "registered_at": 0,
        "uses": 0,
        "paid": 0,
        "settlements": 0,
    } | fields


def test_genesis_export_and_import(skills: Chain, tmp_path: Path) -> None:
    run(skills, BOB, settle(B, (WEATHER, 4), (JOKES, 1)))
    run(skills, ALICE, register(A, HELLO, 2), retire(A, HELLO))
    exported = SkillsModule().export_genesis(skills.app.committed)
    assert [s["skill_id"] for s in exported["skills"]] == sorted([WEATHER, JOKES, HELLO])
    state = default_app_state([(A, 10**9), (B, 10**9)])
    state["skills"] = exported
    again = Chain.start(tmp_path / "again", app_state=state)
    for skill_id in (WEATHER, JOKES, HELLO):
        assert skill(again, skill_id) == skill(skills, skill_id)
    assert listed(again, A) == listed(skills, A) == sorted([JOKES, WEATHER])
    run(again, BOB, settle(B, (WEATHER, 1)))
    again.app.store.close()


@pytest.mark.parametrize(
    "entries",
    [
        [genesis_skill(skill_id="Bad.Id")],
        [genesis_skill(skill_id=3)],
        [genesis_skill(fee=0)],
        [genesis_skill(fee=1 << 64)],
        [genesis_skill(uses=-1)],
        [genesis_skill(paid=1 << 64)],
        [genesis_skill(uses=2, paid=1)],  # a use pays at least 1 uvox
        [genesis_skill(settlements=1, uses=0, paid=0)],
        [genesis_skill(retired=1)],
        [genesis_skill(creator="vox1nope")],
        [genesis_skill(payout=encode_address(BLOCKED))],
        [genesis_skill(), genesis_skill()],  # the same id twice
        [genesis_skill(extra=1)],
        [{"skill_id": WEATHER}],
        ["x"],
    ],
)
def test_invalid_genesis(tmp_path: Path, entries: list[Any]) -> None:
    state = default_app_state([])
    state["skills"] = {"skills": entries}
    with pytest.raises(errors.InvalidGenesisError):
        Chain.start(tmp_path / "g", app_state=state)


@pytest.mark.parametrize("data", [{}, {"skills": {}}, {"skills": [], "params": {}}])
def test_invalid_genesis_shape(tmp_path: Path, data: dict[str, Any]) -> None:
    state = default_app_state([])
    state["skills"] = data
    with pytest.raises(errors.InvalidGenesisError):
        Chain.start(tmp_path / "g", app_state=state)


def test_invalid_genesis_too_many_per_creator(tmp_path: Path) -> None:
    from voxpop.chain.modules.skills.state import MAX_SKILLS_PER_CREATOR

    entries = [genesis_skill(skill_id=f"s{i}.tester") for i in range(MAX_SKILLS_PER_CREATOR + 1)]
    state = default_app_state([])
    state["skills"] = {"skills": entries}
    with pytest.raises(errors.InvalidGenesisError, match="at most"):
        Chain.start(tmp_path / "g", app_state=state)


def test_a_tally_settles_in_batches(tmp_path: Path) -> None:
    """A device's tally of 70 skills becomes two messages (64 + 6) and pays each exactly."""
    ids = [f"skill-{i:02d}.tester" for i in range(70)]
    state = default_app_state([(B, 10**9)])
    state["skills"] = {
        "skills": [genesis_skill(skill_id=s, payout=encode_address(C), fee=2) for s in ids]
    }
    chain = Chain.start(tmp_path / "batches", app_state=state)
    tally = {s: i + 1 for i, s in enumerate(ids)} | {"unused.tester": 0}
    msgs = settle_msgs(B, tally)
    assert [len(m.uses) for m in msgs] == [MAX_USES_PER_SETTLE, 70 - MAX_USES_PER_SETTLE]
    assert [u for m in msgs for u in m.uses] == sorted((s, n) for s, n in tally.items() if n)
    before = chain.balance(C)
    for msg in msgs:
        result = chain.deliver(chain.tx(BOB, [msg.raw()], gas_limit=400_000))
        assert result.code == 0, result.log
    assert chain.balance(C) == before + 2 * sum(tally.values())
    for i, s in enumerate(ids):
        found = skill(chain, s)
        assert found is not None and (found.uses, found.paid) == (i + 1, 2 * (i + 1))
    with pytest.raises(errors.InvalidSkillIdError):
        settle_msgs(B, {"Bad Id": 1})
    chain.app.store.close()
