"""grant/Claim: one sign-up grant per attested identity and per account, within quotas."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.chain.harness import CHAIN_ID, Chain, key
from voxpop.chain import errors
from voxpop.chain.app import check_invariants, event_attrs
from voxpop.chain.context import BlockInfo, Context
from voxpop.chain.encoding import decode_uint
from voxpop.chain.gas import InfiniteGasMeter
from voxpop.chain.genesis import default_app_state, init_genesis_state
from voxpop.chain.kv import Branch
from voxpop.chain.module_accounts import GRANT_BONDS, module_address
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.bank.state import get_supply, iter_balances, read_balance
from voxpop.chain.modules.gov.actions import ActionEnv, SetRegistrar
from voxpop.chain.modules.grant import handlers, state
from voxpop.chain.modules.grant.messages import MsgPostBond, MsgWithdrawBond
from voxpop.chain.modules.grant.module import GrantModule
from voxpop.chain.modules.grant.state import GrantParams, attestation_sign_bytes
from voxpop.chain.registry import default_modules
from voxpop.crypto.address import encode_address
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


# --- registrars' bonds -------------------------------------------------------------------------

BOND = GrantParams().registrar_bond
BONDS = module_address(GRANT_BONDS)
OWNER = REGISTRAR.public_key.address  # the registrar's own account: the address of its key
FUNDS = 10**12


@pytest.fixture
def bchain(tmp_path: Path) -> Iterator[Chain]:
    """A listed registrar bonded at genesis; its own account and a sponsor funded."""
    c = Chain.start(
        tmp_path / "b",
        [(key(1), FUNDS), (REGISTRAR, FUNDS)],
        registrars=[(REGISTRAR.public_key.raw, "reg")],
    )
    yield c
    c.app.store.close()


def post(sender: PrivateKey, amount: int, registrar: PrivateKey = REGISTRAR) -> tuple[str, Any]:
    value = {
        "sender": sender.public_key.address,
        "registrar": registrar.public_key.raw,
        "amount": amount,
    }
    return "grant/PostBond", value


def withdraw(
    amount: int, registrar: PrivateKey = REGISTRAR, account: bytes | None = None
) -> tuple[str, Any]:
    value = {
        "account": registrar.public_key.address if account is None else account,
        "registrar": registrar.public_key.raw,
        "amount": amount,
    }
    return "grant/WithdrawBond", value


def bond_of(chain: Chain, registrar: PrivateKey = REGISTRAR) -> int:
    raw = chain.query("/grant/bond", registrar.public_key.raw)
    return decode_uint(raw) if raw else 0


def grant_state(chain: Chain) -> dict[bytes, bytes]:
    """The grant module's state and the bonds' account: what a refused bond tx must not move."""
    held = {b"bonds-balance": chain.balance(BONDS).to_bytes(16, "big")}
    return {**dict(chain.app.committed.iterate(b"grant/")), **held}


def refused(chain: Chain, signer: PrivateKey, msg: tuple[str, Any], code: int) -> None:
    """check_tx refuses `msg` with `code`; in a block it fails with it and changes nothing of
    the grant module's (the fee aside, paid by the signer)."""
    tx = chain.tx(signer, [msg])
    assert chain.check(tx).code == code
    before = grant_state(chain)
    assert chain.deliver(tx).code == code
    assert grant_state(chain) == before
    assert check_invariants(chain.app) == []


def test_genesis_bonds_each_registrar(bchain: Chain) -> None:
    assert bond_of(bchain) == BOND == 8_000 * 1_000_000
    assert bchain.balance(BONDS) == BOND
    assert check_invariants(bchain.app) == []
    exported = GrantModule().export_genesis(bchain.app.committed)
    assert exported["registrars"] == [
        {"pub_key": REGISTRAR.public_key.raw.hex(), "name": "reg", "bond": BOND}
    ]
    assert exported["bonds"] == []


def test_post_bond_from_anyone(bchain: Chain) -> None:
    sponsor = key(1)
    res = bchain.deliver(bchain.tx(sponsor, [post(sponsor, 5_000_000)]))
    assert res.code == 0, res.log
    assert bond_of(bchain) == BOND + 5_000_000
    assert bchain.balance(BONDS) == BOND + 5_000_000
    posted = [event_attrs(e) for e in res.events if e.type == "registrar_bond_posted"]
    assert posted[0]["bond"] == str(BOND + 5_000_000)
    assert check_invariants(bchain.app) == []


def addr(n: int) -> bytes:
    return key(n).public_key.address


def test_invalid_post_bond(bchain: Chain) -> None:
    poor = key(2)
    fund = ("bank/Send", {"from": addr(1), "to": addr(2), "amount": 10**6})
    assert bchain.deliver(bchain.tx(key(1), [fund])).code == 0
    refused(bchain, poor, post(poor, 10**6), errors.InsufficientFundsError.code)
    refused(bchain, key(1), post(key(1), 0), errors.InvalidAmountError.code)
    # A message whose sender is not the tx's signer
    refused(bchain, poor, post(key(1), 1), errors.UnauthorizedError.code)


def test_claim_needs_a_bond_covering_registrar_bond(tmp_path: Path) -> None:
    state = default_app_state([(addr(1), FUNDS)], registrars=[(REGISTRAR.public_key.raw, "reg")])
    state["grant"]["params"]["registrar_bond"] = BOND + 1  # raised above the genesis bond
    chain = Chain.start(tmp_path / "u", app_state=state)
    a = key(500)
    tx = chain.tx(a, [claim(chain, a, identity("x"))], fee=0)
    assert chain.check(tx).code == errors.RegistrarUnbondedError.code
    before = grant_state(chain)
    assert chain.deliver(tx).code == errors.RegistrarUnbondedError.code
    assert grant_state(chain) == before
    assert chain.balance(a) == 0
    assert chain.deliver(chain.tx(key(1), [post(key(1), 1)])).code == 0
    assert chain.deliver(chain.tx(a, [claim(chain, a, identity("x"))], fee=0)).code == 0
    assert chain.balance(a) == GRANT
    chain.app.store.close()


def test_withdraw_only_the_excess_while_listed(bchain: Chain) -> None:
    assert bchain.deliver(bchain.tx(key(1), [post(key(1), 7)])).code == 0
    refused(bchain, REGISTRAR, withdraw(8), errors.BondExceededError.code)
    before = bchain.balance(OWNER)
    res = bchain.deliver(bchain.tx(REGISTRAR, [withdraw(7)], fee=1_000))
    assert res.code == 0, res.log
    assert bchain.balance(OWNER) == before + 7 - 1_000
    assert bond_of(bchain) == BOND and bchain.balance(BONDS) == BOND
    refused(bchain, REGISTRAR, withdraw(1), errors.BondExceededError.code)
    assert check_invariants(bchain.app) == []


def test_withdraw_everything_when_not_listed(bchain: Chain) -> None:
    """A key never listed (a bond posted ahead of its listing) takes all of it back; so does a
    registrar removed without forfeiture (tests/chain/test_gov.py)."""
    other = key(102)
    fund = ("bank/Send", {"from": addr(1), "to": other.public_key.address, "amount": 10**6})
    assert bchain.deliver(bchain.tx(key(1), [fund, post(key(1), 300, other)])).code == 0
    refused(bchain, other, withdraw(301, other), errors.BondExceededError.code)
    assert bchain.deliver(bchain.tx(other, [withdraw(300, other)])).code == 0
    assert bond_of(bchain, other) == 0
    assert bchain.app.committed.get(b"grant/bond/" + other.public_key.raw) is None
    assert bchain.balance(BONDS) == BOND
    assert check_invariants(bchain.app) == []


def test_invalid_withdraw(bchain: Chain) -> None:
    # Zero; a message naming an account that is not the registrar's key's address; a tx signed
    # by another key than the account the message names
    refused(bchain, REGISTRAR, withdraw(0), errors.InvalidAmountError.code)
    sponsor = key(1)
    wrong_account = withdraw(1, account=addr(1))
    refused(bchain, sponsor, wrong_account, errors.UnauthorizedError.code)
    refused(bchain, sponsor, withdraw(1), errors.UnauthorizedError.code)
    assert bond_of(bchain) == BOND


def test_invariant_finds_bonds_not_held() -> None:
    """A genesis whose bank does not fund grant_bonds with the bonds' sum breaks the invariant
    (the harness checks every block's invariants, so this one runs on genesis state)."""
    app_state = default_app_state([], registrars=[(REGISTRAR.public_key.raw, "reg")])
    [held] = [i for i in GrantModule().invariants() if i.name == "grant/bonds-held"]
    ctx = scratch()
    init_genesis_state(default_modules(), ctx, app_state)
    assert held.check(ctx) is None
    balances = app_state["bank"]["balances"]
    app_state["bank"]["balances"] = [b for b in balances if b["address"] != encode_address(BONDS)]
    ctx = scratch()
    init_genesis_state(default_modules(), ctx, app_state)
    assert held.check(ctx) == (
        f"the grant_bonds account holds 0 uvox, the registrars' bonds are {BOND}"
    )


def test_invalid_genesis_bond() -> None:
    module = GrantModule()
    base = default_app_state([], registrars=[(REGISTRAR.public_key.raw, "reg")])["grant"]
    for bad in (-1, 1 << 64, "1", True):
        data = {**base, "registrars": [{**base["registrars"][0], "bond": bad}]}
        with pytest.raises(errors.InvalidGenesisError, match="bond"):
            module.init_genesis(scratch(), data)
    twice = {**base, "bonds": [{"pub_key": REGISTRAR.public_key.raw.hex(), "bond": 1}]}
    with pytest.raises(errors.InvalidGenesisError, match="given already"):
        module.init_genesis(scratch(), twice)


def test_genesis_round_trips_bonds_of_keys_not_listed() -> None:
    module = GrantModule()
    data = {
        "params": asdict(GrantParams()),
        "registrars": [{"pub_key": REGISTRAR.public_key.raw.hex(), "name": "reg", "bond": 5}],
        "bonds": [{"pub_key": ROGUE.public_key.raw.hex(), "bond": 9}],
    }
    ctx = scratch()
    module.init_genesis(ctx, data)
    assert module.export_genesis(ctx) == data
    # Every field is given: a registrar without its bond, a genesis without `bonds`
    unbonded = {"pub_key": REGISTRAR.public_key.raw.hex(), "name": "reg"}
    for bad in (
        {**data, "registrars": [unbonded]},
        {k: v for k, v in data.items() if k != "bonds"},
    ):
        with pytest.raises(errors.InvalidGenesisError):
            module.init_genesis(scratch(), bad)


class Empty:
    """The state before genesis: nothing."""

    def get(self, key: bytes) -> bytes | None:
        return None

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return iter(())


def scratch() -> Context:
    """Empty state, as genesis starts from."""
    block = BlockInfo(CHAIN_ID, 1, 0)
    return Context(block, Branch(Empty()), InfiniteGasMeter(), AuthParams().gas)


def required(ctx: Context) -> int:
    return state.get_params(ctx).registrar_bond


# --- property: bonds are conserved -------------------------------------------------------------

KEYS = [key(800 + i) for i in range(3)]  # registrars, each its own account
SPONSOR = key(810)
OPS = st.lists(
    st.tuples(
        st.sampled_from(["post", "withdraw", "remove", "forfeit", "list", "param"]),
        st.integers(0, 2),
        st.integers(0, 3 * BOND),
    ),
    max_size=25,
)


def bonds_world() -> Context:
    registrars = [(k.public_key.raw, f"r{i}") for i, k in enumerate(KEYS[:2])]
    balances = [(SPONSOR.public_key.address, 10 * BOND)] + [(k.public_key.address, 1) for k in KEYS]
    ctx = scratch()
    init_genesis_state(default_modules(), ctx, default_app_state(balances, registrars=registrars))
    return ctx


def apply_op(ctx: Context, op: str, who: PrivateKey, amount: int) -> None:
    """One step through the real handlers and gov action; raises ChainError when refused."""
    pub = who.public_key.raw
    env = ActionEnv(modules={m.name: m for m in default_modules()})
    if op == "post":
        value = {"sender": SPONSOR.public_key.address, "registrar": pub, "amount": amount}
        handlers.process_post_bond(ctx, MsgPostBond.from_value(value))
    elif op == "withdraw":
        value = {"account": who.public_key.address, "registrar": pub, "amount": amount}
        handlers.process_withdraw_bond(ctx, MsgWithdrawBond.from_value(value))
    elif op in ("remove", "forfeit", "list"):
        name = "r" if op == "list" else ""
        value = {"pub_key": pub, "name": name, "forfeit_bond": op == "forfeit"}
        SetRegistrar.from_value(value).apply(ctx, env)
    else:  # governance moves the bond required
        GrantModule().set_params_value(ctx, {**asdict(GrantParams()), "registrar_bond": amount})


@settings(max_examples=60, deadline=None)
@given(ops=OPS)
def test_bonds_conserved_under_random_sequences(ops: list[tuple[str, int, int]]) -> None:
    ctx = bonds_world()
    supply = get_supply(ctx)
    for op, i, amount in ops:
        child = ctx.branch()
        before = dict(ctx.store.iterate(b""))
        try:
            apply_op(child, op, KEYS[i], amount)
        except errors.ChainError:
            assert dict(ctx.store.iterate(b"")) == before  # a refusal changes nothing
        else:
            ctx.write(child)
            if op == "withdraw" and state.is_registrar(ctx, KEYS[i].public_key.raw):
                # A listed registrar never withdraws below the bond its attestations need
                assert state.get_bond(ctx, KEYS[i].public_key.raw) >= required(ctx)
        bonds = state.read_bonds(ctx)
        assert read_balance(ctx, BONDS) == sum(b for _, b in bonds)
        assert all(b > 0 for _, b in bonds)
        assert get_supply(ctx) == supply
        assert sum(b for _, b in iter_balances(ctx)) == supply
