"""consent: grant, revoke, record accesses (counted at the m-th node), report misuse; bad input
refused with its code and nothing changed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.chain.consent_world import (
    GAS,
    GRANTEE,
    NODE_KEYS,
    NODE_STAKE,
    NODES,
    OBJECTS,
    OTHER_KEY,
    REPORTER,
    ConsentWorld,
    entry,
)
from tests.chain.harness import Chain
from tests.chain.storage_world import OWNER_KEYS, OWNERS
from voxpop.chain import errors
from voxpop.chain.genesis import default_app_state
from voxpop.chain.module_accounts import COMMUNITY_POOL, module_address
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.consent import state
from voxpop.chain.modules.consent.handlers import open_evidence
from voxpop.chain.modules.consent.module import ConsentModule
from voxpop.chain.modules.services.state import Reputation, decode_offer, iter_reputations
from voxpop.crypto import consent as crypto

G1, G2 = hashlib.sha256(b"g1").digest(), hashlib.sha256(b"g2").digest()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ConsentWorld]:
    w = ConsentWorld.start(tmp_path / "state")
    yield w
    w.chain.app.store.close()


def code(err: type[errors.ChainError]) -> int:
    return err.code


# --- Grant ------------------------------------------------------------------------------------


def test_grant_is_stored_and_listed(world: ConsentWorld) -> None:
    assert world.grant(G1) == 0
    grant = world.get(G1)
    assert grant is not None
    assert (grant.owner, grant.grantee, grant.threshold, grant.nodes) == (
        OWNERS[0],
        GRANTEE,
        2,
        tuple(NODES[:3]),
    )
    assert grant.objects == (entry(0), entry(1))
    assert grant.is_live_at(world.chain.app.last_height)
    committed = world.chain.app.committed
    assert state.GRANTS_BY_OWNER.ids(committed, OWNERS[0]) == [G1]
    assert state.GRANTS_BY_GRANTEE.ids(committed, GRANTEE) == [G1]
    assert world.chain.query("/consent/grant", G1) == committed.get(state.grant_key(G1))


@pytest.mark.parametrize(
    ("fields", "err"),
    [
        ({"purpose": "advertising"}, errors.ConsentUnknownPurposeError),
        ({"expiry": 1}, errors.ConsentExpiryPastError),
        ({"threshold": 4}, errors.ConsentBadThresholdError),
        ({"threshold": 0}, errors.InvalidMessageError),
        ({"nodes": [NODES[0], NODES[0]], "threshold": 1}, errors.ConsentDuplicateNodeError),
        ({"nodes": [NODES[0], NODES[3]]}, errors.ConsentBadNodeError),
        ({"objects": [entry(0), entry(0)]}, errors.ConsentBadObjectsError),
        ({"objects": [entry(3)]}, errors.ConsentObjectNotOwnedError),
        ({"objects": [(b"\x07" * 32, *entry(0)[1:])]}, errors.ConsentObjectNotOwnedError),
        ({"objects": []}, errors.ConsentBadObjectsError),
        ({"objects_root": b"\x01" * 32}, errors.ConsentBadObjectsError),
        ({"object_count": 5}, errors.ConsentBadObjectsError),
        ({"offer_id": b"\x01" * 5}, errors.ConsentBadObjectsError),
        ({"delegating_pk": b"\x02" + b"\x00" * 32}, errors.InvalidEncryptionKeyError),
    ],
)
def test_invalid_grant(world: ConsentWorld, fields: dict[str, Any], err: type) -> None:
    before = world.chain.snapshot()
    assert world.grant(G1, **fields) == code(err)
    assert world.get(G1) is None
    after = world.chain.snapshot()
    assert {k: v for k, v in after.items() if k.startswith(b"consent/")} == {
        k: v for k, v in before.items() if k.startswith(b"consent/")
    }


def test_the_vocabulary_and_limits_are_params(tmp_path: Path) -> None:
    params = state.ConsentParams(purposes=("advertising",), max_nodes=2, max_objects_listed=1)
    world = ConsentWorld.start(tmp_path / "state", params)
    try:
        assert world.grant(G1) == code(errors.ConsentUnknownPurposeError)
        assert world.grant(G1, purpose="advertising") == code(errors.ConsentBadThresholdError)
        nodes = NODES[:2]
        assert world.grant(G1, purpose="advertising", nodes=nodes) == code(
            errors.ConsentBadObjectsError
        )
        one = [entry(0)]
        assert world.grant(G1, purpose="advertising", nodes=nodes, objects=one) == 0
    finally:
        world.chain.app.store.close()


def test_invalid_grant_twice_and_by_another_owner(world: ConsentWorld) -> None:
    assert world.grant(G1) == 0
    assert world.grant(G1) == code(errors.ConsentGrantExistsError)
    # Owner 1 cannot grant owner 0's objects (the signer is the owner field)
    assert world.grant(G2, signer=OWNER_KEYS[1], owner=OWNERS[1]) == code(
        errors.ConsentObjectNotOwnedError
    )


def test_invalid_grant_node_leaving(world: ConsentWorld) -> None:
    leave = {"provider": NODES[2], "kind": "reencrypt"}
    assert world.send(NODE_KEYS[2], "services/Leave", leave) == 0
    assert world.grant(G1) == code(errors.ConsentBadNodeError)


# --- Record -----------------------------------------------------------------------------------


def test_access_counts_when_the_mth_node_records(world: ConsentWorld) -> None:
    assert world.grant(G1) == 0
    req = world.request(G1, OBJECTS[0])
    rid = crypto.request_id(req)
    assert world.record(0, [(world.answer(0, req), req)]) == 0
    committed = world.chain.app.committed
    access = world.access(G1, req)
    assert access is not None and access.nodes == (NODES[0],) and access.counted_at == 0
    assert not state.access_counted(committed, G1, rid)
    assert world.record(1, [(world.answer(1, req), req)]) == 0
    committed = world.chain.app.committed
    access = world.access(G1, req)
    assert access is not None and access.counted_at == world.chain.app.last_height
    assert state.access_counted(committed, G1, rid)
    assert state.counted_accesses_of(committed, G1, OBJECTS[0]) == 1
    assert state.counted_accesses_of(committed, G1, OBJECTS[1]) == 0
    # A third node's answer is on record, the access still counts once
    assert world.record(2, [(world.answer(2, req), req)]) == 0
    grant = world.get(G1)
    assert grant is not None and grant.accesses == 1
    assert state.ACCESSES_OF_GRANT.ids(world.chain.app.committed, G1) == [rid]


def test_record_batches_many_requests(world: ConsentWorld) -> None:
    assert world.grant(G1) == 0
    reqs = [world.request(G1, OBJECTS[i % 2]) for i in range(4)]
    assert world.record(0, [(world.answer(0, r), r) for r in reqs]) == 0
    assert world.record(1, [(world.answer(1, r), r) for r in reqs]) == 0
    committed = world.chain.app.committed
    assert state.counted_accesses_of(committed, G1, OBJECTS[0]) == 2
    assert state.counted_accesses_of(committed, G1, OBJECTS[1]) == 2


def test_invalid_records(world: ConsentWorld) -> None:
    for _ in range(state.ConsentParams().record_window_blocks):
        world.chain.block([])
    assert world.grant(G1) == 0
    granted_at = world.chain.app.last_height
    req = world.request(G1, OBJECTS[0])
    good = (world.answer(0, req), req)

    def at(offset: int) -> bytes:
        """node 0's answer at the last height + offset, made when the record is sent"""
        return world.answer(0, req, world.chain.app.last_height + offset)

    cases: list[tuple[Callable[[], list[tuple[bytes, bytes]]], type[errors.ChainError]]] = [
        # The same answer twice
        (lambda: [good, good], errors.ConsentAlreadyRecordedError),
        # Another key signed the request
        (lambda: answered(world.request(G1, OBJECTS[0], OTHER_KEY)), errors.ConsentBadRequestError),
        # An object the grant does not cover
        (lambda: answered(world.request(G1, OBJECTS[2])), errors.ConsentObjectNotCoveredError),
        # A grant that does not exist
        (lambda: answered(world.request(G2, OBJECTS[0])), errors.ConsentGrantNotFoundError),
        # An answer to another request
        (
            lambda: [(world.answer(0, world.request(G1, OBJECTS[0])), req)],
            errors.ConsentBadAnswerError,
        ),
        # A tampered answer
        (lambda: [(good[0][:-1] + bytes([good[0][-1] ^ 1]), req)], errors.ConsentBadAnswerError),
        # A height not yet past, and one older than the window
        (lambda: [(at(1), req)], errors.ConsentAnswerHeightError),
        (lambda: [(world.answer(0, req, 1), req)], errors.ConsentAnswerHeightError),
        # A height before the grant was made
        (lambda: [(world.answer(0, req, granted_at - 1), req)], errors.ConsentGrantNotLiveError),
    ]

    def answered(request: bytes) -> list[tuple[bytes, bytes]]:
        return [(world.answer(0, request), request)]

    for records, err in cases:
        assert world.record(0, records()) == code(err), err
    # Node 1 cannot record node 0's answer
    assert world.record(0, [good], signer=1) == code(errors.ConsentNodeNotInGrantError)
    # Node 3 is not one of the grant's nodes
    assert world.record(3, [(world.answer(3, req), req)]) == code(errors.ConsentNodeNotInGrantError)
    assert world.access(G1, req) is None


def test_root_grant_needs_a_proof(world: ConsentWorld) -> None:
    entries = [entry(0), entry(1), entry(2)]
    root, count = crypto.objects_root(entries)
    assert world.grant(G1, objects=[], objects_root=root, object_count=count) == 0
    proof = crypto.objects_proof(entries, OBJECTS[2])
    req = world.request(G1, OBJECTS[2], proof=proof)
    assert world.record(0, [(world.answer(0, req), req)]) == 0
    bare = world.request(G1, OBJECTS[2])
    assert world.record(0, [(world.answer(0, bare), bare)]) == code(
        errors.ConsentObjectNotCoveredError
    )
    wrong = world.request(G1, OBJECTS[3], proof=proof)
    assert world.record(0, [(world.answer(0, wrong), wrong)]) == code(
        errors.ConsentObjectNotCoveredError
    )


# --- Revoke, expiry, misuse -------------------------------------------------------------------


def test_revoke_ends_the_grant_at_once(world: ConsentWorld) -> None:
    assert world.grant(G1) == 0
    before = world.request(G1, OBJECTS[0])
    answered = world.answer(0, before)  # at the last height, before the revoke
    assert world.revoke(G1, OTHER_KEY) == code(errors.ConsentNotOwnerError)
    assert world.revoke(G2) == code(errors.ConsentGrantNotFoundError)
    assert world.revoke(G1) == 0
    grant = world.get(G1)
    assert grant is not None and grant.revoked_at == world.chain.app.last_height
    assert world.revoke(G1) == code(errors.ConsentGrantNotLiveError)
    # An answer given before the revoke is still recorded (the audit trail is complete)
    assert world.record(0, [(answered, before)]) == 0
    # An answer at the revoke's height or later is refused, and is misuse
    late = world.request(G1, OBJECTS[0])
    late_answer = world.answer(1, late)
    assert world.record(1, [(late_answer, late)]) == code(errors.ConsentGrantNotLiveError)
    assert world.report(answered, before) == code(errors.ConsentNoMisuseError)
    pool = world.chain.balance(module_address(COMMUNITY_POOL))
    reporter = world.chain.balance(REPORTER)
    assert world.report(late_answer, late) == 0
    slashed = NODE_STAKE * state.ConsentParams().slash_fraction_bps // state.BPS
    bounty = slashed * state.ConsentParams().bounty_bps // state.BPS
    assert world.chain.balance(REPORTER) - reporter == bounty - world_fee(world)
    assert world.chain.balance(module_address(COMMUNITY_POOL)) - pool >= slashed - bounty
    rep = get_reputation_of(world, NODES[1])
    assert rep.slashes == 1 and rep.stake == NODE_STAKE - slashed
    assert world.report(late_answer, late) == code(errors.ConsentMisuseReportedError)


def test_expiry_marks_the_grant_and_refuses_late_answers(world: ConsentWorld) -> None:
    expiry = world.chain.time + 20
    assert world.grant(G1, expiry=expiry) == 0
    while world.chain.time < expiry:
        world.chain.block([])
    grant = world.get(G1)
    assert grant is not None and grant.expired_at == world.chain.app.last_height
    assert state.read_expiry_queue(world.chain.app.committed) == []
    req = world.request(G1, OBJECTS[1])
    ans = world.answer(2, req)
    assert world.record(2, [(ans, req)]) == code(errors.ConsentGrantNotLiveError)
    assert world.report(ans, req) == 0
    # A lie about the height: an answer claiming a live height for a request dated at or after
    # expiry + twice the skew is misuse too
    skew = state.ConsentParams().request_skew_seconds
    honest = world.request(G1, OBJECTS[1], time=expiry + 2 * skew - 1)
    assert world.report(world.answer(1, honest, grant.expired_at - 1), honest) == code(
        errors.ConsentNoMisuseError
    )
    dated = world.request(G1, OBJECTS[1], time=expiry + 2 * skew)
    lie = world.answer(0, dated, grant.expired_at - 1)
    assert world.report(lie, dated) == 0
    assert get_reputation_of(world, NODES[0]).slashes == 1


def test_accesses_run_out(world: ConsentWorld) -> None:
    assert world.grant(G1, max_accesses=1) == 0
    first, in_flight = world.request(G1, OBJECTS[0]), world.request(G1, OBJECTS[1])
    early = world.answer(2, in_flight)  # given before the count ran out
    assert world.record(0, [(world.answer(0, first), first)]) == 0
    assert world.record(1, [(world.answer(1, first), first)]) == 0
    grant = world.get(G1)
    assert grant is not None and grant.exhausted_at == world.chain.app.last_height
    # A new request answered from state showing no accesses left: refused, and misuse
    late = world.request(G1, OBJECTS[1])
    late_answer = world.answer(0, late)
    assert world.record(0, [(late_answer, late)]) == code(errors.ConsentGrantNotLiveError)
    assert world.report(late_answer, late) == 0
    # The counted request answered again is the same access: recorded, not misuse
    again = world.answer(2, first)
    assert world.record(2, [(again, first)]) == 0
    assert world.report(again, first) == code(errors.ConsentNoMisuseError)
    # An answer given before the count ran out still lands: the documented overrun
    assert world.record(2, [(early, in_flight)]) == 0
    assert world.record(1, [(world.answer(1, in_flight, grant.exhausted_at - 1), in_flight)]) == 0
    grant = world.get(G1)
    assert grant is not None and grant.accesses == 2 and grant.max_accesses == 1


def test_a_leaving_node_is_still_slashed(world: ConsentWorld) -> None:
    assert world.grant(G1) == 0
    assert world.revoke(G1) == 0
    req = world.request(G1, OBJECTS[0])
    misuse = world.answer(2, req)
    leave = {"provider": NODES[2], "kind": "reencrypt"}
    assert world.send(NODE_KEYS[2], "services/Leave", leave) == 0
    assert world.report(misuse, req) == 0
    slashed = NODE_STAKE * state.ConsentParams().slash_fraction_bps // state.BPS
    raw = world.chain.query("/services/offer", NODES[2] + b"reencrypt")
    assert decode_offer(raw).stake == NODE_STAKE - slashed
    rep = get_reputation_of(world, NODES[2])
    assert rep.slashes == 1 and rep.stake == 0  # a leaving offer's stake is not counted


def test_genesis_round_trip(world: ConsentWorld, tmp_path: Path) -> None:
    assert world.grant(G1) == 0
    req = world.request(G1, OBJECTS[0])
    assert world.record(0, [(world.answer(0, req), req)]) == 0
    assert world.record(1, [(world.answer(1, req), req)]) == 0
    assert world.revoke(G1) == 0
    exported = ConsentModule().export_genesis(world.chain.app.committed)
    assert len(exported["grants"]) == 1 and len(exported["accesses"]) == 1
    app_state = default_app_state([])
    app_state["consent"] = exported
    other = Chain.start(tmp_path / "other", app_state=app_state)
    try:
        assert ConsentModule().export_genesis(other.app.committed) == exported
        assert state.counted_accesses_of(other.app.committed, G1, OBJECTS[0]) == 1
    finally:
        other.app.store.close()


@pytest.mark.parametrize(
    "params",
    [{"max_nodes": 0}, {"purposes": []}, {"purposes": ["a", "a"]}, {"bounty_bps": 10_001}],
)
def test_invalid_params(params: dict[str, object]) -> None:
    value = state.ConsentParams().to_value() | params
    with pytest.raises(errors.InvalidGenesisError):
        state.ConsentParams.from_value(value)


def test_invalid_genesis_access_miscounted(world: ConsentWorld, tmp_path: Path) -> None:
    assert world.grant(G1) == 0
    req = world.request(G1, OBJECTS[0])
    assert world.record(0, [(world.answer(0, req), req)]) == 0
    exported = ConsentModule().export_genesis(world.chain.app.committed)
    exported["accesses"][0]["counted_at"] = 5  # one node of two: not counted
    app_state = default_app_state([])
    app_state["consent"] = exported
    with pytest.raises(Exception, match="counts exactly"):
        Chain.start(tmp_path / "bad", app_state=app_state)


def world_fee(world: ConsentWorld) -> int:
    return AuthParams().min_fee(GAS)


def get_reputation_of(world: ConsentWorld, node: bytes) -> Reputation:
    return dict(iter_reputations(world.chain.app.committed))[node]


@settings(max_examples=200, deadline=None)
@given(
    blob=st.binary(max_size=200)
    | st.builds(
        cbor2.dumps,
        st.recursive(
            st.integers() | st.binary(max_size=40) | st.text(max_size=8) | st.none(),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=6), inner, max_size=9)
            ),
            max_leaves=12,
        ),
    )
)
def test_evidence_of_any_bytes_is_a_typed_refusal(blob: bytes) -> None:
    """Whatever bytes a Record or a report carries, opening them raises a typed chain error."""
    for answer, request in ((blob, blob), (blob, b"")):
        with pytest.raises((errors.ConsentBadAnswerError, errors.ConsentBadRequestError)):
            open_evidence(answer, request, "records[0]")


def test_a_records_gas_grows_by_one_list_pass_not_one_per_record(world: ConsentWorld) -> None:
    """A Record lists its records under their grant in one pass over the grant's access list:
    as the list grows by 32 a Record, a Record of 32 costs one more pass's worth (the old per
    record pass made the 8th Record of a busy grant cost 7 x 32 x 32 iteration steps more)."""
    assert world.grant(G1, max_accesses=1_000) == 0
    chain = world.chain
    node = NODE_KEYS[0]
    used = []
    for _ in range(8):
        reqs = [world.request(G1, OBJECTS[i % 2]) for i in range(32)]
        value = {"node": NODES[0], "records": [[world.answer(0, r), r] for r in reqs]}
        result = chain.deliver(chain.tx(node, [("consent/Record", value)], gas_limit=10_000_000))
        assert result.code == 0, result.log
        used.append(result.gas_used)
    assert len(state.ACCESSES_OF_GRANT.ids(chain.app.committed, G1)) == 8 * 32
    step = AuthParams().gas.iter_step
    # The 8th Record iterates 7 x 32 more listed items, once
    growth = used[-1] - used[0]
    assert growth <= 2 * 7 * 32 * step, used
