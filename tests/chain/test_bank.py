"""bank/Send and bank/MultiSend."""

from __future__ import annotations

import pytest

from tests.chain.conftest import ALICE, BOB, CAROL
from tests.chain.harness import Chain, send_msg
from voxpop.chain import errors
from voxpop.chain.modules.auth.state import AuthParams

FEE = AuthParams().min_fee(200_000)


def test_send(chain: Chain) -> None:
    before = chain.snapshot()
    supply = chain.supply()
    result = chain.deliver(chain.tx(ALICE, [send_msg(ALICE, CAROL, 1234)]))
    assert result.code == 0, result.log
    assert chain.balance(ALICE) == 1_000_000_000 - 1234 - FEE
    assert chain.balance(CAROL) == 1234
    assert chain.fee_pool() == FEE
    assert chain.supply() == supply
    assert chain.sequence(ALICE) == 1
    assert chain.snapshot() != before
    transfer = [e for e in result.events if e.type == "transfer"]
    assert transfer and transfer[0].attr("amount") == "1234"


def test_send_whole_balance_deletes_entry(chain: Chain) -> None:
    amount = 5_000_000 - FEE
    assert chain.deliver(chain.tx(BOB, [send_msg(BOB, CAROL, amount)])).code == 0
    assert chain.balance(BOB) == 0
    assert chain.query("/bank/balance", BOB.public_key.address) == b""


def test_multi_send(chain: Chain) -> None:
    msg = (
        "bank/MultiSend",
        {
            "from": ALICE.public_key.address,
            "outputs": [[BOB.public_key.address, 10], [CAROL.public_key.address, 20]],
        },
    )
    assert chain.deliver(chain.tx(ALICE, [msg])).code == 0
    assert chain.balance(BOB) == 5_000_010
    assert chain.balance(CAROL) == 20


def test_invalid_multi_send_paying_itself_needs_the_total(chain: Chain) -> None:
    """An output to the sender does not fund the outputs after it: the total must be held first."""
    bob = BOB.public_key.address
    held = 5_000_000 - FEE
    msg = ("bank/MultiSend", {"from": bob, "outputs": [[bob, held], [CAROL.public_key.address, 1]]})
    result = chain.deliver(chain.tx(BOB, [msg]))
    assert result.code == errors.InsufficientFundsError.code
    assert (chain.balance(BOB), chain.balance(CAROL)) == (held, 0)


def test_several_messages_apply_atomically(chain: Chain) -> None:
    tx = chain.tx(BOB, [send_msg(BOB, CAROL, 1_000_000), send_msg(BOB, CAROL, 10_000_000)])
    result = chain.deliver(tx)
    assert result.code == errors.InsufficientFundsError.code
    # The fee and sequence are spent; neither message took effect
    assert chain.balance(CAROL) == 0
    assert chain.balance(BOB) == 5_000_000 - FEE
    assert chain.sequence(BOB) == 1


def test_invalid_send_insufficient_funds_rejected_at_check(chain: Chain) -> None:
    before = chain.snapshot()
    res = chain.check(chain.tx(BOB, [send_msg(BOB, CAROL, 6_000_000)]))
    assert res.code == errors.InsufficientFundsError.code
    assert "balance" in res.log
    assert chain.snapshot() == before


@pytest.mark.parametrize("amount", [0, -1, 1 << 64, "10", 1.5, True])
def test_invalid_send_amount(chain: Chain, amount: object) -> None:
    res = chain.check(chain.tx(ALICE, [send_msg(ALICE, BOB, amount)]))
    # Floats and integers beyond 64 bits (CBOR bignum tags) are refused by the decoder itself
    undecodable = isinstance(amount, float) or amount == 1 << 64
    expected = errors.TxDecodeError.code if undecodable else errors.InvalidAmountError.code
    assert res.code == expected
    assert chain.balance(BOB) == 5_000_000


@pytest.mark.parametrize("bad", [b"", b"\x01" * 19, b"\x01" * 21, "vox1abc"])
def test_invalid_send_address(chain: Chain, bad: object) -> None:
    msg = ("bank/Send", {"from": ALICE.public_key.address, "to": bad, "amount": 1})
    assert chain.check(chain.tx(ALICE, [msg])).code == errors.InvalidAddressError.code


def test_invalid_send_from_other_account(chain: Chain) -> None:
    res = chain.check(chain.tx(BOB, [send_msg(ALICE, BOB, 1)]))
    assert res.code == errors.UnauthorizedError.code
    assert chain.balance(ALICE) == 1_000_000_000


def test_invalid_send_to_mint_module(chain: Chain) -> None:
    from voxpop.chain.module_accounts import module_address

    res = chain.check(chain.tx(ALICE, [send_msg(ALICE, module_address("mint"), 5)]))
    assert res.code == errors.BlockedRecipientError.code


def test_invalid_multi_send_empty(chain: Chain) -> None:
    msg = ("bank/MultiSend", {"from": ALICE.public_key.address, "outputs": []})
    assert chain.check(chain.tx(ALICE, [msg])).code == errors.InvalidMessageError.code


def test_invalid_message_extra_field(chain: Chain) -> None:
    _, value = send_msg(ALICE, BOB, 1)
    assert chain.check(chain.tx(ALICE, [("bank/Send", {**value, "x": 1})])).code == (
        errors.InvalidMessageError.code
    )


def test_invalid_unknown_message(chain: Chain) -> None:
    assert (
        chain.check(chain.tx(ALICE, [("bank/Steal", {})])).code == errors.UnknownMessageError.code
    )
