"""Random message sequences against a simple model; every module's invariants after every block."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.chain.harness import CHAIN_ID, Chain, key, send_msg
from voxpop.chain.app import check_invariants
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.grant.state import GrantParams, attestation_sign_bytes

KEYS = [key(10 + i) for i in range(5)]
REGISTRAR = key(99)
GAS = 200_000
FEE = AuthParams().min_fee(GAS)
CLAIM_GAS = 50_000  # fee-exempt txs may declare at most FEE_EXEMPT_MAX_GAS
START = 50_000_000


class ChainMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="voxpop-stateful-"))
        self.chain = Chain.start(
            self.dir / "s",
            [(k, START) for k in KEYS[:3]],
            registrars=[(REGISTRAR.public_key.raw, "r")],
        )
        self.model = {k.public_key.address: (START if i < 3 else 0) for i, k in enumerate(KEYS)}
        self.claimed: set[bytes] = set()
        self.pending: list[tuple[bytes, dict[bytes, int]]] = []

    def teardown(self) -> None:
        self.chain.app.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _stage(self, tx: bytes, effect: dict[bytes, int], expect_ok: bool) -> None:
        res = self.chain.check(tx)
        assert (res.code == 0) == expect_ok, (res.code, res.log, effect)
        if expect_ok:
            self.pending.append((tx, effect))
            for addr, delta in effect.items():
                self.model[addr] += delta
        else:
            # A rejected tx did not use its sequence
            signer = next(iter(effect))
            self.chain.sequences[signer_key(signer).public_key.address] -= 1

    @rule(s=st.integers(0, 4), r=st.integers(0, 4), amount=st.integers(-5, 2 * START))
    def send(self, s: int, r: int, amount: int) -> None:
        sender, recipient = KEYS[s], KEYS[r]
        sa, ra = sender.public_key.address, recipient.public_key.address
        ok = amount > 0 and self.model[sa] >= amount + FEE
        tx = self.chain.tx(sender, [send_msg(sender, recipient, amount)], gas_limit=GAS)
        effect = {sa: -(amount + FEE)} if ok else {sa: 0}
        if ok:
            effect[ra] = effect.get(ra, 0) + amount
        self._stage(tx, effect, ok)

    @rule(
        s=st.integers(0, 4),
        outs=st.lists(st.tuples(st.integers(0, 4), st.integers(1, START)), min_size=1, max_size=4),
    )
    def multi_send(self, s: int, outs: list[tuple[int, int]]) -> None:
        sender = KEYS[s]
        sa = sender.public_key.address
        total = sum(n for _, n in outs)
        ok = self.model[sa] >= total + FEE
        msg = (
            "bank/MultiSend",
            {"from": sa, "outputs": [[KEYS[i].public_key.address, n] for i, n in outs]},
        )
        tx = self.chain.tx(sender, [msg], gas_limit=GAS)
        effect: dict[bytes, int] = {sa: -(total + FEE)} if ok else {sa: 0}
        if ok:
            for i, n in outs:
                a = KEYS[i].public_key.address
                effect[a] = effect.get(a, 0) + n
        self._stage(tx, effect, ok)

    @rule(who=st.integers(0, 4), ident=st.integers(0, 3))
    def claim(self, who: int, ident: int) -> None:
        k = KEYS[who]
        a = k.public_key.address
        identity = hashlib.sha256(b"id%d" % ident).digest()
        exp = self.chain.time + 3600
        sig = REGISTRAR.sign(attestation_sign_bytes(CHAIN_ID, a, identity, exp))
        msg = (
            "grant/Claim",
            {
                "claimant": a,
                "registrar": REGISTRAR.public_key.raw,
                "identity_hash": identity,
                "expiry": exp,
                "signature": sig,
            },
        )
        ok = a not in self.claimed and identity not in self.claimed
        tx = self.chain.tx(k, [msg], fee=0, gas_limit=CLAIM_GAS)
        self._stage(tx, {a: GrantParams().amount} if ok else {a: 0}, ok)
        if ok:
            self.claimed |= {a, identity}

    @rule(junk=st.binary(max_size=200))
    def garbage(self, junk: bytes) -> None:
        assert self.chain.check(junk).code != 0

    @precondition(lambda self: bool(self.pending))
    @rule()
    def make_block(self) -> None:
        results = self.chain.block([tx for tx, _ in self.pending])
        assert all(r.code == 0 for r in results), [r.log for r in results]
        self.pending = []
        for addr, expected in self.model.items():
            assert self.chain.balance(addr) == expected

    @precondition(lambda self: not self.pending)
    @rule()
    def restart(self) -> None:
        root = self.chain.app.last_app_hash
        self.chain = self.chain.reopen()
        assert self.chain.app.last_app_hash == root

    @invariant()
    def invariants_hold(self) -> None:
        assert check_invariants(self.chain.app) == []


def signer_key(address: bytes):  # type: ignore[no-untyped-def]
    return next(k for k in KEYS if k.public_key.address == address)


ChainMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
TestChain = ChainMachine.TestCase
