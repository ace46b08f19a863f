"""feegrant: a granter's allowance pays the fees of a grantee's txs that name it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tests.chain.conftest import ALICE, BOB, CAROL
from tests.chain.harness import CHAIN_ID, Chain, key, send_msg
from voxpop.chain import errors
from voxpop.chain.app import event_attrs
from voxpop.chain.encoding import decode_canonical, encode
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.feegrant.state import decode_allowance
from voxpop.chain.tx import decode_tx
from voxpop.client.tx import (
    build_tx,
    msg_authz_exec,
    msg_authz_grant,
    msg_feegrant_grant,
    msg_feegrant_revoke,
    sign_tx,
)
from voxpop.crypto.keys import PrivateKey

A, B, C = (k.public_key.address for k in (ALICE, BOB, CAROL))
AGENT = key(7)  # an agent with an empty account of its own
G = AGENT.public_key.address
GAS = 200_000
FEE = AuthParams().min_fee(GAS)


def paid_tx(
    chain: Chain,
    signer: PrivateKey,
    msgs: Sequence[tuple[str, dict[str, Any]]],
    *,
    fee_granter: bytes = A,
    fee: int = FEE,
) -> bytes:
    """A tx whose fee `fee_granter` pays; the harness's sequence bookkeeping is kept."""
    address = signer.public_key.address
    seq = chain.sequences.get(address, 0)
    chain.sequences[address] = seq + 1
    body = build_tx(
        chain_id=CHAIN_ID,
        pub_key=signer.public_key.raw,
        sequence=seq,
        msgs=msgs,
        fee=fee,
        gas_limit=GAS,
        fee_granter=fee_granter,
    )
    return sign_tx(body, signer)


def allow(chain: Chain, grantee: bytes = G, **limits: Any) -> None:
    res = chain.deliver(chain.tx(ALICE, [msg_feegrant_grant(A, grantee, **limits)]))
    assert res.code == 0, res.log


def allowance(chain: Chain, grantee: bytes = G) -> Any:
    raw = chain.query("/feegrant/allowance", A + grantee)
    return decode_allowance(raw) if raw else None


def refused(chain: Chain, tx: bytes, error: type[errors.ChainError], signer: PrivateKey) -> None:
    """Refused with `error` at check_tx and in a block, changing nothing at all."""
    assert chain.check(tx).code == error.code
    before = chain.snapshot()
    assert chain.deliver(tx).code == error.code
    after = chain.snapshot()
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    # Only what every block changes (issuance, rewards, signing info): nothing of the tx's
    assert not any(k.startswith((b"auth/acc/", b"feegrant/", b"authz/")) for k in changed)
    assert not any(k.endswith((A, B, C, G)) and k.startswith(b"bank/bal/") for k in changed), (
        "a refused tx moved funds"
    )
    chain.sequences[signer.public_key.address] -= 1


def test_agent_acts_for_owner_paying_from_owner(chain: Chain) -> None:
    """The owner's key signs nothing but the grants; the agent holds no funds."""
    allow(chain, spend_limit=10 * FEE)
    assert chain.deliver(chain.tx(ALICE, [msg_authz_grant(A, G, "bank/Send")])).code == 0
    a_bal, a_seq = chain.balance(ALICE), chain.sequence(ALICE)
    res = chain.deliver(paid_tx(chain, AGENT, [msg_authz_exec(G, [send_msg(A, C, 1234)])]))
    assert res.code == 0, res.log
    assert chain.balance(AGENT) == 0
    assert chain.balance(CAROL) == 1234
    assert chain.balance(ALICE) == a_bal - 1234 - FEE
    assert chain.sequence(ALICE) == a_seq and chain.sequence(AGENT) == 1
    assert allowance(chain).limits.spend_limit == 9 * FEE
    tx_event = next(event_attrs(e) for e in res.events if e.type == "tx")
    assert tx_event["fee_payer"] != tx_event["signer"]


def test_period_limit_resets(chain: Chain) -> None:
    allow(chain, period_seconds=60, period_limit=2 * FEE)
    chain.deliver(chain.tx(ALICE, [send_msg(ALICE, AGENT, 100)]))
    own = [send_msg(AGENT, CAROL, 1)]
    assert chain.deliver(paid_tx(chain, AGENT, own)).code == 0
    assert chain.deliver(paid_tx(chain, AGENT, own)).code == 0
    refused(chain, paid_tx(chain, AGENT, own), errors.AllowanceExceededError, AGENT)
    chain.block([], advance=60)
    assert chain.deliver(paid_tx(chain, AGENT, own)).code == 0


def test_spent_allowance_is_deleted(chain: Chain) -> None:
    allow(chain, spend_limit=FEE)
    chain.deliver(chain.tx(ALICE, [send_msg(ALICE, AGENT, 100)]))
    assert chain.deliver(paid_tx(chain, AGENT, [send_msg(AGENT, CAROL, 1)])).code == 0
    assert allowance(chain) is None
    refused(
        chain, paid_tx(chain, AGENT, [send_msg(AGENT, CAROL, 1)]), errors.NoAllowanceError, AGENT
    )


def test_fee_stays_paid_when_messages_fail(chain: Chain) -> None:
    allow(chain)
    a_bal = chain.balance(ALICE)
    res = chain.deliver(paid_tx(chain, AGENT, [send_msg(AGENT, CAROL, 5)]))  # agent has nothing
    assert res.code == errors.InsufficientFundsError.code
    assert chain.balance(ALICE) == a_bal - FEE and chain.sequence(AGENT) == 1


def test_invalid_fee_payer_without_allowance(chain: Chain) -> None:
    tx = paid_tx(chain, AGENT, [send_msg(AGENT, CAROL, 1)])
    refused(chain, tx, errors.NoAllowanceError, AGENT)
    # Naming oneself: no allowance to oneself can exist
    tx = paid_tx(chain, BOB, [send_msg(BOB, CAROL, 1)], fee_granter=B)
    refused(chain, tx, errors.NoAllowanceError, BOB)
    # An allowance for another grantee does not count
    allow(chain, grantee=C)
    refused(
        chain, paid_tx(chain, AGENT, [send_msg(AGENT, CAROL, 1)]), errors.NoAllowanceError, AGENT
    )


def test_invalid_expired_allowance(chain: Chain) -> None:
    allow(chain, expiration=chain.time + 12)  # granted at +5
    chain.deliver(chain.tx(ALICE, [send_msg(ALICE, AGENT, 100)]))  # +10
    tx = paid_tx(chain, AGENT, [send_msg(AGENT, CAROL, 1)])
    assert chain.check(tx).code == 0  # the mempool is at +10: still current
    assert chain.deliver(tx).code == errors.AllowanceExpiredError.code  # the block is at +15
    chain.sequences[G] -= 1
    assert chain.sequence(AGENT) == 0 and chain.balance(AGENT) == 100
    assert allowance(chain) is None  # pruned at the end of that block
    refused(
        chain, paid_tx(chain, AGENT, [send_msg(AGENT, CAROL, 1)]), errors.NoAllowanceError, AGENT
    )


def test_invalid_message_not_allowed(chain: Chain) -> None:
    allow(chain, allowed_msgs=["authz/Exec"])
    chain.deliver(chain.tx(ALICE, [send_msg(ALICE, AGENT, 100)]))
    tx = paid_tx(chain, AGENT, [send_msg(AGENT, CAROL, 1)])
    refused(chain, tx, errors.MessageNotAllowedError, AGENT)


def test_invalid_fee_above_allowance(chain: Chain) -> None:
    allow(chain, spend_limit=FEE)
    tx = paid_tx(chain, AGENT, [send_msg(AGENT, CAROL, 1)], fee=FEE + 1)
    refused(chain, tx, errors.AllowanceExceededError, AGENT)
    assert allowance(chain).limits.spend_limit == FEE


def test_invalid_granter_cannot_pay(chain: Chain) -> None:
    poor = key(8)
    chain.deliver(chain.tx(ALICE, [send_msg(ALICE, poor, FEE + 10)]))
    grant = msg_feegrant_grant(poor.public_key.address, G, spend_limit=100 * FEE)
    assert chain.deliver(chain.tx(poor, [grant])).code == 0  # poor now holds 10
    tx = paid_tx(chain, AGENT, [send_msg(AGENT, CAROL, 1)], fee_granter=poor.public_key.address)
    refused(chain, tx, errors.InsufficientFundsError, AGENT)


def test_revoke_is_immediate(chain: Chain) -> None:
    allow(chain)
    chain.deliver(chain.tx(ALICE, [send_msg(ALICE, AGENT, 100)]))
    revoke = chain.tx(ALICE, [msg_feegrant_revoke(A, G)])
    use = paid_tx(chain, AGENT, [send_msg(AGENT, CAROL, 1)])
    results = chain.block([revoke, use])
    assert [r.code for r in results] == [0, errors.NoAllowanceError.code]
    assert chain.sequence(AGENT) == 0
    res = chain.deliver(chain.tx(ALICE, [msg_feegrant_revoke(A, G)]))
    assert res.code == errors.NoAllowanceError.code


@pytest.mark.parametrize(
    ("msg", "error"),
    [
        (msg_feegrant_grant(A, A), errors.SelfGrantError),
        (msg_feegrant_grant(A, G, period_seconds=5), errors.InvalidMessageError),
        (msg_feegrant_grant(A, G, allowed_msgs=["x"]), errors.InvalidMessageError),
        (msg_feegrant_grant(A, G, allowed_msgs=["bank/Send"] * 17), errors.InvalidMessageError),
    ],
)
def test_invalid_grants(chain: Chain, msg: Any, error: type[errors.ChainError]) -> None:
    assert chain.check(chain.tx(ALICE, [msg])).code == error.code


def test_invalid_grant_already_expired(chain: Chain) -> None:
    msg = msg_feegrant_grant(A, G, expiration=chain.time)
    assert chain.deliver(chain.tx(ALICE, [msg])).code == errors.AllowanceExpiredError.code


def test_tx_format_fee_granter() -> None:
    body = build_tx(
        chain_id=CHAIN_ID,
        pub_key=AGENT.public_key.raw,
        sequence=0,
        msgs=[send_msg(AGENT, CAROL, 1)],
        fee=FEE,
        gas_limit=GAS,
        fee_granter=A,
    )
    raw = sign_tx(body, AGENT)
    tx = decode_tx(raw)
    assert tx.body.fee_granter == A and tx.body == body
    # The fee granter is signed over: changing it breaks the signature's body
    assert b"fee_granter" in tx.sign_bytes
    # Without it the body has no such key (so older txs and the test vectors are unchanged)
    plain = build_tx(
        chain_id=CHAIN_ID,
        pub_key=AGENT.public_key.raw,
        sequence=0,
        msgs=[send_msg(AGENT, CAROL, 1)],
        fee=FEE,
        gas_limit=GAS,
    )
    assert "fee_granter" not in plain.to_value()
    # A malformed fee granter is a decode error
    doc = decode_canonical(raw)
    for bad in (b"", b"x" * 21, "vox1...", 0):
        doc["body"]["fee_granter"] = bad
        with pytest.raises(errors.TxDecodeError):
            decode_tx(encode(doc))
