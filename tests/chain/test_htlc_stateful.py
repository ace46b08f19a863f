"""htlc under random lock / claim / refund / wait sequences, against a model written from the
README.

Each tx goes in its own block, so the model knows the block time it runs at. After every step:
the exact result code, every lock's status, the four accounts' balances, and the htlc account
holding exactly the open locks (the harness also checks every module's invariants after each
block). Locked uvox leave only by a claim (to the recipient) or a refund (to the sender), once.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.chain.harness import Chain, key
from voxpop.chain import errors
from voxpop.chain.genesis import default_app_state
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.htlc import state

KEYS = [key(80 + i) for i in range(4)]
ADDR = [k.public_key.address for k in KEYS]
SECRETS = [bytes([90 + i]) * 32 for i in range(3)]
HASHES = [hashlib.sha256(s).digest() for s in SECRETS]
GAS = 200_000
FEE = AuthParams().min_fee(GAS)
START = 50_000_000
BLOCK = 5
OK = 0


@dataclass
class Model:
    sender: int
    recipient: int
    amount: int
    secret: int
    timeout: int
    status: int = state.OPEN


class HtlcMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="voxpop-htlc-"))
        self.chain = Chain.start(
            self.dir / "s", app_state=default_app_state([(a, START) for a in ADDR])
        )
        self.bal = dict.fromkeys(ADDR, START)
        self.locks: dict[bytes, Model] = {}

    def teardown(self) -> None:
        self.chain.app.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self, signer: int, msg: tuple[str, dict[str, Any]], expected: int, apply: Any) -> None:
        self.bal[ADDR[signer]] -= FEE
        result = self.chain.deliver(self.chain.tx(KEYS[signer], [msg], gas_limit=GAS))
        event(f"{msg[0]} -> {errors.ERRORS[result.code].name if result.code else 'ok'}")
        assert result.code == expected, (msg[0], result.code, expected, result.log)
        if expected == OK:
            apply()

    def _pick(self, data: st.DataObject) -> bytes:
        known = sorted(self.locks)
        if known and data.draw(st.sampled_from([True, True, True, False])):
            return data.draw(st.sampled_from(known))
        return bytes(32)  # never locked

    @rule(
        sender=st.integers(0, 3),
        recipient=st.integers(0, 3),
        amount=st.one_of(st.integers(1, 3_000_000), st.just(START * 2)),
        secret=st.integers(0, 2),
        after=st.sampled_from([1, 4, 10, 30, 60]),
    )
    def lock(self, sender: int, recipient: int, amount: int, secret: int, after: int) -> None:
        s, r = ADDR[sender], ADDR[recipient]
        now = self.chain.time + BLOCK
        timeout = now + after
        msg = (
            "htlc/Lock",
            {
                "sender": s,
                "recipient": r,
                "amount": amount,
                "hashlock": HASHES[secret],
                "timeout": timeout,
            },
        )
        if s == r:  # refused when parsed: no fee, no sequence
            tx = self.chain.tx(KEYS[sender], [msg], gas_limit=GAS)
            self.chain.sequences[s] -= 1
            assert self.chain.deliver(tx).code == errors.HtlcSelfLockError.code
            return
        lock_id = state.compute_lock_id(s, r, HASHES[secret])
        if lock_id in self.locks:
            expected = errors.HtlcLockExistsError.code
        elif self.bal[s] - FEE < amount:
            expected = errors.InsufficientFundsError.code
        else:
            expected = OK

        def apply() -> None:
            self.bal[s] -= amount
            self.locks[lock_id] = Model(sender, recipient, amount, secret, timeout)

        self._run(sender, msg, expected, apply)

    @rule(signer=st.integers(0, 3), secret=st.integers(0, 2), data=st.data())
    def claim(self, signer: int, secret: int, data: st.DataObject) -> None:
        lock_id = self._pick(data)
        m = self.locks.get(lock_id)
        if m is not None and data.draw(st.booleans()):
            secret = m.secret  # mostly the right secret
        now = self.chain.time + BLOCK
        if m is None:
            expected = errors.HtlcLockNotFoundError.code
        elif m.status != state.OPEN:
            expected = errors.HtlcSettledError.code
        elif now >= m.timeout:
            expected = errors.HtlcExpiredError.code
        elif secret != m.secret:
            expected = errors.HtlcWrongPreimageError.code
        else:
            expected = OK

        def apply() -> None:
            assert m is not None
            m.status = state.CLAIMED
            self.bal[ADDR[m.recipient]] += m.amount

        msg = (
            "htlc/Claim",
            {"claimer": ADDR[signer], "lock_id": lock_id, "preimage": SECRETS[secret]},
        )
        self._run(signer, msg, expected, apply)

    @rule(signer=st.integers(0, 3), data=st.data())
    def refund(self, signer: int, data: st.DataObject) -> None:
        lock_id = self._pick(data)
        m = self.locks.get(lock_id)
        now = self.chain.time + BLOCK
        if m is None:
            expected = errors.HtlcLockNotFoundError.code
        elif m.status != state.OPEN:
            expected = errors.HtlcSettledError.code
        elif now < m.timeout:
            expected = errors.HtlcNotExpiredError.code
        else:
            expected = OK

        def apply() -> None:
            assert m is not None
            m.status = state.REFUNDED
            self.bal[ADDR[m.sender]] += m.amount

        self._run(
            signer, ("htlc/Refund", {"claimer": ADDR[signer], "lock_id": lock_id}), expected, apply
        )

    @rule(seconds=st.sampled_from([1, 5, 20]))
    def wait(self, seconds: int) -> None:
        self.chain.block([], advance=seconds)

    @invariant()
    def matches_model(self) -> None:
        for address, expected in self.bal.items():
            assert self.chain.balance(address) == expected
        held = sum(m.amount for m in self.locks.values() if m.status == state.OPEN)
        assert self.chain.balance(state.MODULE_ADDRESS) == held
        for lock_id, m in self.locks.items():
            lock = state.decode_lock(self.chain.query("/htlc/lock", lock_id))
            assert lock.status == m.status
            assert lock.preimage == (SECRETS[m.secret] if m.status == state.CLAIMED else b"")


TestHtlcStateful = HtlcMachine.TestCase
TestHtlcStateful.settings = settings(max_examples=12, stateful_step_count=25, deadline=None)
