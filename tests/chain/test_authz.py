"""authz: grants, revocation, and messages run for a granter by its grantee."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.chain.conftest import ALICE, BOB, CAROL
from tests.chain.harness import Chain, key, send_msg
from voxpop.chain import errors
from voxpop.chain.abci import RequestQuery
from voxpop.chain.app import event_attrs
from voxpop.chain.modules.authz.state import MAX_GRANTS_PER_GRANTER, decode_grant
from voxpop.chain.registry import default_modules
from voxpop.client.lists import verify_list
from voxpop.client.tx import msg_authz_exec, msg_authz_grant, msg_authz_revoke

A, B, C = (k.public_key.address for k in (ALICE, BOB, CAROL))
SEND = "bank/Send"
ROUTES = {t for m in default_modules() for t in m.msg_routes()}


def grant(chain: Chain, msg_type: str = SEND, grantee: bytes = B, **limits: Any) -> None:
    res = chain.deliver(chain.tx(ALICE, [msg_authz_grant(A, grantee, msg_type, **limits)]))
    assert res.code == 0, res.log


def exec_send(chain: Chain, amount: int, *, signer: Any = BOB, granter: bytes = A) -> Any:
    grantee = signer.public_key.address
    return chain.deliver(
        chain.tx(signer, [msg_authz_exec(grantee, [send_msg(granter, C, amount)])])
    )


def grant_record(chain: Chain, granter: bytes, grantee: bytes, msg_type: str = SEND) -> Any:
    raw = chain.query("/authz/grant", granter + grantee + msg_type.encode())
    return decode_grant(raw) if raw else None


def test_grantee_sends_for_granter(chain: Chain) -> None:
    grant(chain)
    a_seq, a_bal, b_bal = chain.sequence(ALICE), chain.balance(ALICE), chain.balance(BOB)
    res = exec_send(chain, 700)
    assert res.code == 0, res.log
    # The granter's funds moved; the grantee paid the fee and used its own sequence
    assert chain.balance(ALICE) == a_bal - 700
    assert chain.balance(CAROL) == 700
    assert chain.balance(BOB) < b_bal
    assert chain.sequence(ALICE) == a_seq
    # The bank handler saw the granter as the acting account
    transfer = next(event_attrs(e) for e in res.events if e.type == "transfer")
    executed = next(event_attrs(e) for e in res.events if e.type == "authz_exec")
    assert transfer["sender"] == executed["granter"] != executed["grantee"]


def test_grantee_may_include_its_own_messages(chain: Chain) -> None:
    grant(chain)
    msg = msg_authz_exec(B, [send_msg(A, C, 5), send_msg(B, C, 7)])
    assert chain.deliver(chain.tx(BOB, [msg])).code == 0
    assert chain.balance(CAROL) == 12


def test_send_authorization_spend_limit(chain: Chain) -> None:
    grant(chain, spend_limit=1000)
    assert exec_send(chain, 600).code == 0
    assert grant_record(chain, A, B).limits.spend_limit == 400
    assert exec_send(chain, 401).code == errors.AuthorizationExceededError.code
    assert grant_record(chain, A, B).limits.spend_limit == 400  # the failed try spent nothing
    assert exec_send(chain, 400).code == 0
    # Exhausted: the grant is gone
    assert grant_record(chain, A, B) is None
    assert exec_send(chain, 1).code == errors.NoAuthorizationError.code
    assert chain.balance(CAROL) == 1000


def test_send_authorization_period_limit(chain: Chain) -> None:
    grant(chain, period_seconds=60, period_limit=500)
    assert exec_send(chain, 300).code == 0
    assert exec_send(chain, 201).code == errors.AuthorizationExceededError.code
    assert exec_send(chain, 200).code == 0
    chain.block([], advance=60)
    assert exec_send(chain, 500).code == 0
    assert chain.balance(CAROL) == 1000


def test_max_uses(chain: Chain) -> None:
    grant(chain, max_uses=2)
    assert exec_send(chain, 1).code == 0
    assert grant_record(chain, A, B).uses_left == 1
    assert exec_send(chain, 1).code == 0
    assert exec_send(chain, 1).code == errors.NoAuthorizationError.code


def test_expired_grant_fails_then_is_pruned(chain: Chain) -> None:
    grant(chain, expiration=chain.time + 12)  # granted at +5
    assert exec_send(chain, 1).code == 0  # block time +10: still current
    assert exec_send(chain, 1).code == errors.AuthorizationExpiredError.code  # +15
    # The block at or after the expiration pruned it
    assert grant_record(chain, A, B) is None
    assert exec_send(chain, 1).code == errors.NoAuthorizationError.code


def test_revoke_is_immediate(chain: Chain) -> None:
    grant(chain)
    revoke = chain.tx(ALICE, [msg_authz_revoke(A, B, SEND)])
    use = chain.tx(BOB, [msg_authz_exec(B, [send_msg(A, C, 1)])])
    # In the mempool: the revoke is seen by the next check
    assert chain.check(revoke).code == 0
    assert chain.check(use).code == errors.NoAuthorizationError.code
    # In a block: the exec after the revoke fails, its fee paid
    results = chain.block([revoke, use])
    assert [r.code for r in results] == [0, errors.NoAuthorizationError.code]
    assert chain.balance(CAROL) == 0
    assert grant_record(chain, A, B) is None


def test_generic_grant_of_another_type(chain: Chain) -> None:
    grant(chain, "bank/MultiSend")
    multi = ("bank/MultiSend", {"from": A, "outputs": [[C, 3], [B, 4]]})
    assert chain.deliver(chain.tx(BOB, [msg_authz_exec(B, [multi])])).code == 0
    assert chain.balance(CAROL) == 3


def test_regrant_replaces(chain: Chain) -> None:
    grant(chain, spend_limit=10, expiration=chain.time + 1000)
    grant(chain, spend_limit=50)
    assert grant_record(chain, A, B).limits.spend_limit == 50
    assert grant_record(chain, A, B).expiration == 0


def test_grants_list_is_proven(chain: Chain) -> None:
    grant(chain)
    grant(chain, "bank/MultiSend")
    grant(chain, grantee=C)
    res = chain.app.query(RequestQuery("/authz/grants", A, prove=True))
    assert res.code == 0, res.log
    items = verify_list(chain.app.last_app_hash, "/authz/grants", A, res.key, res.value, res.proof)
    assert sorted(i.id for i in items) == sorted(
        [B + SEND.encode(), B + b"bank/MultiSend", C + SEND.encode()]
    )


def test_invalid_grant_to_self(chain: Chain) -> None:
    res = chain.check(chain.tx(ALICE, [msg_authz_grant(A, A, SEND)]))
    assert res.code == errors.SelfGrantError.code


def test_invalid_exec_without_grant(chain: Chain) -> None:
    assert exec_send(chain, 1).code == errors.NoAuthorizationError.code
    grant(chain)  # Alice granted Bob, not Carol
    chain.deliver(chain.tx(ALICE, [send_msg(ALICE, CAROL, 10_000)]))
    assert exec_send(chain, 1, signer=CAROL).code == errors.NoAuthorizationError.code


def test_invalid_exec_of_type_not_granted(chain: Chain) -> None:
    grant(chain)
    multi = ("bank/MultiSend", {"from": A, "outputs": [[C, 3]]})
    res = chain.deliver(chain.tx(BOB, [msg_authz_exec(B, [multi])]))
    assert res.code == errors.NoAuthorizationError.code


def test_invalid_grantee_moving_the_grant(chain: Chain) -> None:
    """A grantee cannot grant onward, revoke, or nest Exec, even with a grant for it."""
    grant(chain)
    dave = key(4).public_key.address
    for inner in (
        msg_authz_grant(A, dave, SEND),
        msg_authz_revoke(A, B, SEND),
        msg_authz_exec(A, [send_msg(A, C, 1)]),
    ):
        res = chain.check(chain.tx(BOB, [msg_authz_exec(B, [inner])], sequence=0))
        assert res.code == errors.NotDelegableError.code
    # Nor can authz messages be granted
    for msg_type in ("authz/Grant", "authz/Revoke", "authz/Exec"):
        res = chain.check(chain.tx(ALICE, [msg_authz_grant(A, B, msg_type)], sequence=1))
        assert res.code == errors.NotDelegableError.code


def test_invalid_grant_limits(chain: Chain) -> None:
    cases = [
        (msg_authz_grant(A, B, "bank/MultiSend", spend_limit=5), errors.InvalidMessageError),
        (msg_authz_grant(A, B, SEND, period_seconds=60), errors.InvalidMessageError),
        (msg_authz_grant(A, B, SEND, period_limit=60), errors.InvalidMessageError),
        (msg_authz_grant(A, B, "nope/Nothing"), errors.UnknownMessageError),
        (msg_authz_grant(A, B, "not a type"), errors.InvalidMessageError),
        (msg_authz_grant(A, B, SEND, expiration=chain.time), errors.AuthorizationExpiredError),
    ]
    for msg, error in cases:
        assert chain.check(chain.tx(ALICE, [msg], sequence=0)).code == error.code


def test_invalid_inner_messages(chain: Chain) -> None:
    grant(chain)
    bad: list[tuple[dict[str, Any], type[errors.ChainError]]] = [
        ({"type": "nope/Nothing", "value": {}}, errors.UnknownMessageError),
        ({"type": SEND, "value": {"from": A}}, errors.InvalidMessageError),
        ({"type": SEND, "value": {"from": A, "to": C, "amount": 0}}, errors.InvalidAmountError),
        ({"type": SEND}, errors.InvalidMessageError),
    ]
    for inner, error in bad:
        msg = ("authz/Exec", {"grantee": B, "msgs": [inner]})
        assert chain.check(chain.tx(BOB, [msg], sequence=0)).code == error.code
    empty = ("authz/Exec", {"grantee": B, "msgs": []})
    assert chain.check(chain.tx(BOB, [empty], sequence=0)).code == errors.InvalidMessageError.code


def test_invalid_revoke_of_nothing(chain: Chain) -> None:
    res = chain.deliver(chain.tx(ALICE, [msg_authz_revoke(A, B, SEND)]))
    assert res.code == errors.NoAuthorizationError.code


def test_exec_is_all_or_nothing(chain: Chain) -> None:
    grant(chain, spend_limit=100, max_uses=5)
    msg = msg_authz_exec(B, [send_msg(A, C, 50), send_msg(A, C, 60)])
    assert chain.deliver(chain.tx(BOB, [msg])).code == errors.AuthorizationExceededError.code
    assert chain.balance(CAROL) == 0
    record = grant_record(chain, A, B)
    assert (record.limits.spend_limit, record.uses_left) == (100, 5)


def test_invalid_too_many_grants(chain: Chain) -> None:
    txs = [
        chain.tx(ALICE, [msg_authz_grant(A, key(100 + i).public_key.address, SEND)])
        for i in range(MAX_GRANTS_PER_GRANTER)
    ]
    assert all(r.code == 0 for r in chain.block(txs))
    res = chain.deliver(chain.tx(ALICE, [msg_authz_grant(A, B, SEND)]))
    assert res.code == errors.TooManyGrantsError.code
    # Revoking one makes room
    chain.deliver(chain.tx(ALICE, [msg_authz_revoke(A, key(100).public_key.address, SEND)]))
    assert chain.deliver(chain.tx(ALICE, [msg_authz_grant(A, B, SEND)])).code == 0


ANY = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 2**64)
    | st.binary(max_size=24)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELD_NAMES = st.sampled_from(
    ["from", "to", "amount", "granter", "grantee", "msg_type", "msgs", "x"]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    inner=st.lists(
        st.fixed_dictionaries(
            {
                "type": st.sampled_from(sorted(ROUTES)) | st.text(max_size=12),
                "value": st.dictionaries(FIELD_NAMES, ANY | st.just(A) | st.just(B), max_size=5),
            }
        )
        | ANY,
        max_size=3,
    )
)
def test_fuzz_exec_inner_messages_give_typed_codes(chain: Chain, inner: list[Any]) -> None:
    """Whatever an Exec carries, check_tx answers with a code of the chain's, never internal,
    and a rejected tx changes nothing."""
    before = chain.snapshot()
    tx = chain.tx(BOB, [("authz/Exec", {"grantee": B, "msgs": inner})], sequence=0)
    res = chain.check(tx)
    event(f"code {res.code}")
    assert res.code in errors.ERRORS and res.code != errors.ChainError.code, res.log
    assert chain.snapshot() == before


def test_invalid_inner_message_is_rejected_before_the_fee(chain: Chain) -> None:
    """A malformed message inside Exec is refused like a malformed message of the tx itself: in a
    block (a proposer may include what CheckTx refused) it charges nothing, not even the fee."""
    grant(chain)
    before = (chain.balance(BOB), chain.sequence(BOB), chain.balance(ALICE))
    inner = ("bank/Send", {"from": A, "to": C})  # no amount
    tx = chain.tx(BOB, [msg_authz_exec(B, [inner])], sequence=chain.sequence(BOB))
    assert chain.check(tx).code == errors.InvalidMessageError.code
    assert chain.deliver(tx).code == errors.InvalidMessageError.code
    assert (chain.balance(BOB), chain.sequence(BOB), chain.balance(ALICE)) == before
    unknown = chain.tx(BOB, [msg_authz_exec(B, [("nope/Nope", {})])], sequence=before[1])
    assert chain.deliver(unknown).code == errors.UnknownMessageError.code
    assert (chain.balance(BOB), chain.sequence(BOB)) == before[:2]
