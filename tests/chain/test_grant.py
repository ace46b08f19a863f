"""grant/Claim: one sign-up grant per attested identity and per account, within quotas."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chain.harness import CHAIN_ID, Chain, key
from voxpop.chain import errors
from voxpop.chain.genesis import default_app_state
from voxpop.chain.modules.grant.state import GrantParams, attestation_sign_bytes
from voxpop.crypto.keys import PrivateKey

REGISTRAR = key(100)
ROGUE = key(101)
GRANT = GrantParams().amount


@pytest.fixture
def gchain(tmp_path: Path) -> Iterator[Chain]:
    c = Chain.start(
        tmp_path / "g", [(key(1), 1_000_000)], registrars=[(REGISTRAR.public_key.raw, "reg")]
    )
    yield c
    c.app.store.close()


def identity(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()


def claim(
    chain: Chain,
    who: PrivateKey,
    ident: bytes,
    *,
    registrar: PrivateKey = REGISTRAR,
    expiry: int | None = None,
    signed_for: bytes | None = None,
) -> tuple[str, dict[str, Any]]:
    exp = chain.time + 3600 if expiry is None else expiry
    target = signed_for or who.public_key.address
    sig = registrar.sign(attestation_sign_bytes(CHAIN_ID, target, ident, exp))
    return "grant/Claim", {
        "claimant": who.public_key.address,
        "registrar": registrar.public_key.raw,
        "identity_hash": ident,
        "expiry": exp,
        "signature": sig,
    }


def test_claim_grant_with_zero_fee(gchain: Chain) -> None:
    newbie = key(500)
    tx = gchain.tx(newbie, [claim(gchain, newbie, identity("alice"))], fee=0)
    assert gchain.check(tx).code == 0
    result = gchain.deliver(tx)
    assert result.code == 0, result.log
    assert gchain.balance(newbie) == GRANT
    assert [e for e in result.events if e.type == "grant_claimed"]


def test_invalid_claim_same_identity_twice(gchain: Chain) -> None:
    a, b = key(500), key(501)
    assert gchain.deliver(gchain.tx(a, [claim(gchain, a, identity("x"))], fee=0)).code == 0
    res = gchain.check(gchain.tx(b, [claim(gchain, b, identity("x"))], fee=0))
    assert res.code == errors.IdentityClaimedError.code
    assert gchain.balance(b) == 0


def test_invalid_claim_same_account_twice(gchain: Chain) -> None:
    a = key(500)
    assert gchain.deliver(gchain.tx(a, [claim(gchain, a, identity("x"))], fee=0)).code == 0
    res = gchain.check(gchain.tx(a, [claim(gchain, a, identity("y"))], fee=0))
    assert res.code == errors.AccountClaimedError.code


def test_invalid_claim_unknown_registrar(gchain: Chain) -> None:
    a = key(500)
    res = gchain.check(gchain.tx(a, [claim(gchain, a, identity("x"), registrar=ROGUE)], fee=0))
    assert res.code == errors.UnknownRegistrarError.code


def test_invalid_claim_attestation_for_other_account(gchain: Chain) -> None:
    a = key(500)
    msg = claim(gchain, a, identity("x"), signed_for=key(9).public_key.address)
    res = gchain.check(gchain.tx(a, [msg], fee=0))
    assert res.code == errors.InvalidAttestationError.code


def test_invalid_claim_expired(gchain: Chain) -> None:
    a = key(500)
    res = gchain.check(
        gchain.tx(a, [claim(gchain, a, identity("x"), expiry=gchain.time - 1)], fee=0)
    )
    assert res.code == errors.AttestationExpiredError.code


def test_invalid_zero_fee_for_other_messages(gchain: Chain) -> None:
    payer = key(1)
    msg = (
        "bank/Send",
        {"from": payer.public_key.address, "to": key(2).public_key.address, "amount": 1},
    )
    assert gchain.check(gchain.tx(payer, [msg], fee=0)).code == errors.InsufficientFeeError.code


def test_registrar_quota_per_epoch(tmp_path: Path) -> None:
    state = default_app_state([], registrars=[(REGISTRAR.public_key.raw, "reg")])
    state["grant"]["params"]["registrar_quota"] = 2
    chain = Chain.start(tmp_path / "q", app_state=state)
    claimants = [key(600 + i) for i in range(3)]
    txs = [
        chain.tx(k, [claim(chain, k, identity(f"p{i}"))], fee=0) for i, k in enumerate(claimants)
    ]
    results = chain.block(txs)
    assert [r.code for r in results] == [0, 0, errors.RegistrarQuotaError.code]
    assert chain.balance(claimants[2]) == 0
    # A new epoch restores the quota
    chain.time += GrantParams().epoch_seconds
    late = key(700)
    assert chain.deliver(chain.tx(late, [claim(chain, late, identity("late"))], fee=0)).code == 0
    chain.app.store.close()


def test_invalid_claim_pool_empty(tmp_path: Path) -> None:
    state = default_app_state(
        [], grant_pool=GRANT - 1, registrars=[(REGISTRAR.public_key.raw, "r")]
    )
    chain = Chain.start(tmp_path / "e", app_state=state)
    a = key(500)
    res = chain.check(chain.tx(a, [claim(chain, a, identity("x"))], fee=0))
    assert res.code == errors.GrantPoolEmptyError.code
    chain.app.store.close()
