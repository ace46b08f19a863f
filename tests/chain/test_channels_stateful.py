"""channels under random open / top-up / claim / settle / collect / close sequences, against a
model written from the README.

Each tx goes in its own block, so the model knows the block time it runs at. After every step:
the exact result code, every channel, every balance of the four accounts and of the channels
account, and every module's invariants (the harness checks them after each block: claimed <=
deposit, the channels account == the sum of deposit - claimed, bank's supply == sum of balances).
Value is conserved: the four accounts and the channels account hold together exactly what they
held at genesis, less the fees they paid.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from nacl.signing import SigningKey

from tests.chain.harness import CHAIN_ID, Chain, key
from voxpop.chain import errors
from voxpop.chain.genesis import default_app_state
from voxpop.chain.module_accounts import CHANNELS, module_address
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.channels.state import (
    MIN_SETTLE_SECONDS,
    ChannelParams,
    decode_channel,
)
from voxpop.crypto.vouchers import derive_channel_id, sign_voucher

KEYS = [key(60 + i) for i in range(4)]  # 0, 1 pay; 2, 3 are paid (any may try anything)
ADDR = [k.public_key.address for k in KEYS]
VOUCHER_KEYS = [SigningKey(bytes([70 + i]) * 32) for i in range(4)]
MODULE = module_address(CHANNELS)
GAS = 400_000
FEE = AuthParams().min_fee(GAS)
START = 50_000_000
BLOCK = 5
SETTLE = MIN_SETTLE_SECONDS
OK = 0
KINDS = ("good",) * 6 + ("stale", "over", "forged", "wrong_key", "wrong_chain")


@dataclass(frozen=True)
class Model:
    payer: int
    payee: int
    deposit: int
    claimed: int = 0
    settle_at: int = 0


class ChannelsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="voxpop-channels-"))
        state = default_app_state([(a, START) for a in ADDR])
        params = ChannelParams(settle_seconds=SETTLE, max_vouchers_per_claim=3)
        state["channels"] = {"params": params.to_value(), "channels": [], "nonces": []}
        self.chain = Chain.start(self.dir / "s", app_state=state)
        self.bal = dict.fromkeys(ADDR, START)
        self.module = 0
        self.fees = 0
        self.nonce = dict.fromkeys(ADDR, 0)
        self.channels: dict[bytes, Model] = {}
        self.ended: list[bytes] = []
        self.last_claim: tuple[int, list[list[Any]], Any] | None = None

    def teardown(self) -> None:
        self.chain.app.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- one tx in its own block, against the model's prediction --------------------------------

    def _run(self, signer: int, msg: tuple[str, dict[str, Any]], predict: Any) -> None:
        """Deliver one tx; `predict(now)` applies the model and returns the expected code (on an
        error, whatever it changed in the model is put back: the fee stays paid)."""
        now = self.chain.time + BLOCK
        who = ADDR[signer]
        self.bal[who] -= FEE
        self.fees += FEE
        saved = (dict(self.bal), self.module, dict(self.nonce), dict(self.channels))
        expected = predict(now)
        if expected != OK:
            self.bal, self.module, self.nonce, self.channels = saved
        result = self.chain.deliver(self.chain.tx(KEYS[signer], [msg], gas_limit=GAS))
        event(f"{msg[0]} -> {errors.ERRORS[result.code].name if result.code else 'ok'}")
        assert result.code == expected, (msg[0], result.code, expected, result.log)

    def _pick(self, data: st.DataObject, live_only: bool = False) -> bytes:
        """Mostly a live channel; sometimes one that ended, or one never opened."""
        live = sorted(self.channels)
        if live and (live_only or data.draw(st.sampled_from([True, True, True, False]))):
            return data.draw(st.sampled_from(live))
        return data.draw(st.sampled_from([*self.ended[-3:], bytes(32)]))

    @initialize(deposits=st.tuples(st.integers(1, 2_000_000), st.integers(1, 2_000_000)))
    def two_channels(self, deposits: tuple[int, int]) -> None:
        """Every run starts with two channels (0 pays 2, 1 pays 3), so most steps act on one."""
        self.open(0, 2, deposits[0])
        self.open(1, 3, deposits[1])

    def _signer(self, data: st.DataObject, cid: bytes, role: str) -> int:
        """Mostly the channel's `role` (payer or payee), else anyone."""
        c = self.channels.get(cid)
        if c is not None and data.draw(st.sampled_from([True, True, True, False])):
            return int(getattr(c, role))
        return data.draw(st.integers(0, 3))

    # --- rules ----------------------------------------------------------------------------------

    @rule(
        payer=st.integers(0, 3),
        payee=st.integers(0, 3),
        deposit=st.one_of(st.integers(1, 3_000_000), st.integers(1, 50), st.just(START * 2)),
    )
    def open(self, payer: int, payee: int, deposit: int) -> None:
        p, e = ADDR[payer], ADDR[payee]
        msg = (
            "channels/Open",
            {
                "payer": p,
                "payee": e,
                "voucher_key": bytes(VOUCHER_KEYS[payer].verify_key),
                "deposit": deposit,
            },
        )
        if p == e:  # refused when parsed: no fee, no sequence
            tx = self.chain.tx(KEYS[payer], [msg], gas_limit=GAS)
            self.chain.sequences[p] -= 1
            assert self.chain.deliver(tx).code == errors.SelfChannelError.code
            return

        def predict(now: int) -> int:
            if self.bal[p] < deposit:
                return errors.InsufficientFundsError.code
            cid = derive_channel_id(CHAIN_ID, p, self.nonce[p])
            self.nonce[p] += 1
            self.bal[p] -= deposit
            self.module += deposit
            self.channels[cid] = Model(payer, payee, deposit)
            return OK

        self._run(payer, msg, predict)

    @rule(amount=st.integers(1, 1_000_000), data=st.data())
    def top_up(self, amount: int, data: st.DataObject) -> None:
        cid = self._pick(data)
        signer = self._signer(data, cid, "payer")
        who = ADDR[signer]

        def predict(now: int) -> int:
            c = self.channels.get(cid)
            if c is None:
                return errors.ChannelNotFoundError.code
            if c.payer != signer:
                return errors.WrongPayerError.code
            if c.settle_at:
                return errors.ChannelSettlingError.code
            if self.bal[who] < amount:
                return errors.InsufficientFundsError.code
            self.bal[who] -= amount
            self.module += amount
            self.channels[cid] = replace(c, deposit=c.deposit + amount)
            return OK

        msg = ("channels/TopUp", {"payer": who, "channel_id": cid, "amount": amount})
        self._run(signer, msg, predict)

    @rule(count=st.sampled_from([1, 1, 1, 2, 3, 4]), data=st.data())
    def claim(self, count: int, data: st.DataObject) -> None:
        first = self._pick(data)
        signer = self._signer(data, first, "payee")
        who = ADDR[signer]
        vouchers: list[tuple[bytes, int, bytes, str]] = []
        planned: dict[bytes, int] = {}  # claimed as the earlier vouchers of this claim leave it
        for i in range(count):
            cid = first if i == 0 else self._pick(data)
            kind = data.draw(st.sampled_from(KINDS))
            c = self.channels.get(cid)
            claimed = planned.get(cid, c.claimed if c else 0)
            deposit = c.deposit if c else 1_000
            if kind == "stale" and claimed == 0:
                kind = "good"
            if kind == "stale":
                amount = data.draw(st.integers(max(claimed, 1) - 1, claimed)) or 1
            elif kind == "over":
                amount = deposit + data.draw(st.integers(1, 1_000))
            else:
                amount = claimed + data.draw(st.integers(1, max(1, deposit - claimed)))
            signer_key = VOUCHER_KEYS[c.payer if c else 0]
            chain_id = CHAIN_ID
            if kind == "wrong_key":
                signer_key = VOUCHER_KEYS[(c.payer + 1) % 4 if c else 1]
            if kind == "wrong_chain":
                chain_id = "voxpop-elsewhere"
            signature = sign_voucher(signer_key, chain_id, cid, amount).signature
            if kind == "forged":
                signature = bytes([signature[0] ^ 0x80]) + signature[1:]
            vouchers.append((cid, amount, signature, kind))
            if kind == "good" and c is not None and claimed < amount <= deposit:
                planned[cid] = amount
        signed_ok = {"good"}

        def predict(now: int) -> int:
            if len(vouchers) > 3:
                return errors.TooManyVouchersError.code
            for cid, amount, _, kind in vouchers:
                c = self.channels.get(cid)
                if c is None:
                    return errors.ChannelNotFoundError.code
                if c.payee != signer:
                    return errors.WrongPayeeError.code
                if c.settle_at and now >= c.settle_at:
                    return errors.SettleWindowEndedError.code
                if amount <= c.claimed:
                    return errors.VoucherStaleError.code
                if amount > c.deposit:
                    return errors.OverDepositError.code
                if kind not in signed_ok and kind not in ("stale", "over"):
                    return errors.VoucherInvalidError.code
                paid = amount - c.claimed
                self.module -= paid
                self.bal[who] += paid
                self.channels[cid] = replace(c, claimed=amount)
            return OK

        wire = [[cid, amount, sig] for cid, amount, sig, _ in vouchers]
        self._run(signer, ("channels/Claim", {"payee": who, "vouchers": wire}), predict)
        self.last_claim = (signer, wire, predict)

    @rule()
    def replay_last_claim(self) -> None:
        """The same vouchers again: stale if they paid, refused as before if they did not."""
        if self.last_claim is not None:
            signer, wire, predict = self.last_claim
            msg = ("channels/Claim", {"payee": ADDR[signer], "vouchers": wire})
            self._run(signer, msg, predict)

    @rule(data=st.data())
    def settle(self, data: st.DataObject) -> None:
        cid = self._pick(data)
        self.settle_by(cid, self._signer(data, cid, "payer"))

    def settle_by(self, cid: bytes, signer: int) -> None:

        def predict(now: int) -> int:
            c = self.channels.get(cid)
            if c is None:
                return errors.ChannelNotFoundError.code
            if c.payer != signer:
                return errors.WrongPayerError.code
            if c.settle_at:
                return errors.ChannelSettlingError.code
            self.channels[cid] = replace(c, settle_at=now + SETTLE)
            return OK

        self._run(signer, ("channels/Settle", {"payer": ADDR[signer], "channel_id": cid}), predict)

    def _end(self, cid: bytes, c: Model) -> None:
        refund = c.deposit - c.claimed
        self.module -= refund
        self.bal[ADDR[c.payer]] += refund
        del self.channels[cid]
        self.ended.append(cid)

    @rule(data=st.data())
    def collect(self, data: st.DataObject) -> None:
        cid = self._pick(data)
        signer = self._signer(data, cid, "payer")

        def predict(now: int) -> int:
            c = self.channels.get(cid)
            if c is None:
                return errors.ChannelNotFoundError.code
            if c.payer != signer:
                return errors.WrongPayerError.code
            if not c.settle_at or now < c.settle_at:
                return errors.SettleWindowOpenError.code
            self._end(cid, c)
            return OK

        msg = ("channels/Collect", {"payer": ADDR[signer], "channel_id": cid})
        self._run(signer, msg, predict)

    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        cid = self._pick(data)
        signer = self._signer(data, cid, "payee")

        def predict(now: int) -> int:
            c = self.channels.get(cid)
            if c is None:
                return errors.ChannelNotFoundError.code
            if c.payee != signer:
                return errors.WrongPayeeError.code
            self._end(cid, c)
            return OK

        self._run(signer, ("channels/Close", {"payee": ADDR[signer], "channel_id": cid}), predict)

    @rule(seconds=st.sampled_from([SETTLE // 2, SETTLE - 2 * BLOCK, SETTLE - BLOCK, SETTLE]))
    def wait(self, seconds: int) -> None:
        """Let block time pass, up to a settle window's end (the next tx's block adds 5 s)."""
        self.chain.block([], advance=seconds)

    @rule(data=st.data())
    def settle_then_wait(self, data: st.DataObject) -> None:
        """A payer leaves and the window runs out: only Collect is left to it."""
        cid = self._pick(data, live_only=True) if self.channels else bytes(32)
        c = self.channels.get(cid)
        if c is None or c.settle_at:
            return
        self.settle_by(cid, c.payer)
        self.chain.block([], advance=SETTLE)

    # --- what must hold after every step --------------------------------------------------------

    @invariant()
    def chain_matches_model(self) -> None:
        for cid, model in self.channels.items():
            raw = self.chain.query("/channels/channel", cid)
            c = decode_channel(raw)
            assert (c.payer, c.payee, c.deposit, c.claimed, c.settle_at) == (
                ADDR[model.payer],
                ADDR[model.payee],
                model.deposit,
                model.claimed,
                model.settle_at,
            )
            assert c.claimed <= c.deposit
        for cid in self.ended:
            assert self.chain.query("/channels/channel", cid) == b""
        for a in ADDR:
            assert self.chain.balance(a) == self.bal[a], a.hex()
        # The channels account holds exactly what the open channels have not paid out
        assert self.chain.balance(MODULE) == self.module
        assert self.module == sum(c.deposit - c.claimed for c in self.channels.values())
        # Value only moved between payers, payees and the channels account (and to fees)
        total = sum(self.chain.balance(a) for a in ADDR) + self.chain.balance(MODULE)
        assert total == 4 * START - self.fees


ChannelsMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
test_channels_stateful = ChannelsMachine.TestCase
