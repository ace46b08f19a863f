"""Authentication, fees, gas and replay protection, at check_tx and in blocks."""

from __future__ import annotations

from tests.chain.conftest import ALICE, BOB, CAROL
from tests.chain.harness import Chain, send_msg
from voxpop.chain import errors
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.tx import decode_tx, encode_tx


def test_sequence_increments_and_mempool_accepts_successors(chain: Chain) -> None:
    txs = [chain.tx(ALICE, [send_msg(ALICE, CAROL, 1)]) for _ in range(3)]
    assert [chain.check(t).code for t in txs] == [0, 0, 0]
    assert [r.code for r in chain.block(txs)] == [0, 0, 0]
    assert chain.sequence(ALICE) == 3


def test_invalid_replay_rejected(chain: Chain) -> None:
    tx = chain.tx(ALICE, [send_msg(ALICE, CAROL, 7)])
    assert chain.deliver(tx).code == 0
    before = chain.snapshot()
    assert chain.check(tx).code == errors.WrongSequenceError.code
    # Even if a proposer includes it again, it changes nothing
    assert chain.block([tx])[0].code == errors.WrongSequenceError.code
    after = chain.snapshot()
    assert chain.balance(CAROL) == 7
    assert before == after


def test_invalid_future_sequence(chain: Chain) -> None:
    res = chain.check(chain.tx(ALICE, [send_msg(ALICE, BOB, 1)], sequence=5))
    assert res.code == errors.WrongSequenceError.code


def test_invalid_signature(chain: Chain) -> None:
    tx = bytearray(chain.tx(ALICE, [send_msg(ALICE, BOB, 1)]))
    tx[12] ^= 0x01  # inside the signature: canonical order puts "sig" before "body"
    before = chain.snapshot()
    assert chain.check(bytes(tx)).code == errors.InvalidSignatureError.code
    assert chain.block([bytes(tx)])[0].code == errors.InvalidSignatureError.code
    assert chain.snapshot() == before


def test_invalid_signature_by_other_key(chain: Chain) -> None:
    good = decode_tx(chain.tx(ALICE, [send_msg(ALICE, BOB, 1)]))
    forged = encode_tx(good.body, BOB.sign(good.body.sign_bytes()))
    assert chain.check(forged).code == errors.InvalidSignatureError.code


def test_invalid_wrong_chain_id(chain: Chain) -> None:
    res = chain.check(chain.tx(ALICE, [send_msg(ALICE, BOB, 1)], chain_id="other-chain"))
    assert res.code == errors.WrongChainIdError.code


def test_invalid_fee_below_minimum(chain: Chain) -> None:
    res = chain.check(chain.tx(ALICE, [send_msg(ALICE, BOB, 1)], gas_limit=200_000, fee=199))
    assert res.code == errors.InsufficientFeeError.code


def test_invalid_fee_unaffordable(chain: Chain) -> None:
    poor = CAROL
    assert chain.deliver(chain.tx(ALICE, [send_msg(ALICE, poor, 100)])).code == 0
    res = chain.check(chain.tx(poor, [send_msg(poor, BOB, 1)]))
    assert res.code == errors.InsufficientFundsError.code


def test_invalid_out_of_gas_keeps_fee(chain: Chain) -> None:
    used = chain.deliver(chain.tx(ALICE, [send_msg(ALICE, BOB, 1)])).gas_used
    pool = chain.fee_pool()
    # Enough gas for the ante checks, not for the transfer's last write
    limit = used - 50
    tx = chain.tx(ALICE, [send_msg(ALICE, CAROL, 1)], gas_limit=limit, fee=limit)
    assert chain.check(tx).code == errors.OutOfGasError.code
    result = chain.deliver(tx)
    assert result.code == errors.OutOfGasError.code, result.log
    assert chain.balance(CAROL) == 0
    assert chain.fee_pool() == pool + limit
    assert chain.sequence(ALICE) == 2


def test_invalid_gas_limit_above_max(chain: Chain) -> None:
    limit = AuthParams().max_gas_per_tx + 1
    res = chain.check(chain.tx(ALICE, [send_msg(ALICE, BOB, 1)], gas_limit=limit))
    assert res.code == errors.GasLimitTooHighError.code


def test_invalid_timeout_height(chain: Chain) -> None:
    res = chain.check(chain.tx(ALICE, [send_msg(ALICE, BOB, 1)], timeout_height=1))
    assert res.code == errors.TxTimeoutError.code


def test_invalid_memo_too_large(chain: Chain) -> None:
    res = chain.check(chain.tx(ALICE, [send_msg(ALICE, BOB, 1)], memo="x" * 300))
    assert res.code == errors.MemoTooLargeError.code


def test_invalid_too_many_messages(chain: Chain) -> None:
    msgs = [send_msg(ALICE, BOB, 1)] * (AuthParams().max_msgs + 1)
    res = chain.check(chain.tx(ALICE, msgs, gas_limit=5_000_000))
    assert res.code == errors.TooManyMessagesError.code


def test_invalid_oversized_tx(chain: Chain) -> None:
    res = chain.check(b"\xa0" * (AuthParams().max_tx_bytes + 1))
    assert res.code == errors.TxTooLargeError.code


def test_gas_used_reported(chain: Chain) -> None:
    result = chain.deliver(chain.tx(ALICE, [send_msg(ALICE, BOB, 1)]))
    assert 0 < result.gas_used <= result.gas_wanted == 200_000


def test_restart_keeps_state(chain: Chain) -> None:
    assert chain.deliver(chain.tx(ALICE, [send_msg(ALICE, CAROL, 99)])).code == 0
    height, root = chain.app.last_height, chain.app.last_app_hash
    again = chain.reopen()
    assert (again.app.last_height, again.app.last_app_hash) == (height, root)
    assert again.balance(CAROL) == 99
    assert again.deliver(again.tx(ALICE, [send_msg(ALICE, CAROL, 1)])).code == 0
    again.app.store.close()
