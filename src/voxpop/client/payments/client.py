"""PayingClient: call a paid service, paying each call with a voucher on a payment channel.

    with VoxClient(node_url) as vox, PayingClient(vox, owner_key, ledger="pay.db") as payer:
        answer = payer.call("stt", flac_bytes, content_type="audio/x-flac")
        answer.body, answer.receipt, answer.cost

One call: find the offers of the kind (proven by the light client; cached for `offer_ttl`),
rank them (selection.py), and for the best: price the request, check the spending caps (before
anything is signed), open a channel or top it up if needed, reserve the amount in the ledger,
sign the voucher, POST, and verify the receipt over the hashes the client computed itself. A
provider that is down, slow, refuses or answers without a valid receipt is skipped and the next
one is tried; a 402 the client can fix (a stale amount after a restart, a view of the chain that
lags behind a fresh channel or top-up) is fixed and retried.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from nacl.signing import SigningKey

from voxpop.chain.modules.channels.messages import MsgOpen, MsgSettle, MsgTopUp
from voxpop.client.errors import VoxClientError
from voxpop.client.payments.errors import (
    BadAnswerError,
    NoProviderError,
    PaymentError,
    PaymentRefusedError,
    SpendingCapError,
)
from voxpop.client.payments.ledger import ChannelRecord, Ledger, StoredReceipt
from voxpop.client.payments.offers import Candidate, fetch_candidates, fetch_channel
from voxpop.client.payments.policy import Policy
from voxpop.client.payments.selection import Selector
from voxpop.client.payments.transport import (
    ConnectFailedError,
    ProviderHttp,
    TimedOutError,
    TransportError,
)
from voxpop.client.payments.wire import (
    Problem,
    check_receipt,
    parse_problem,
    payment_headers,
    price_units,
)
from voxpop.client.sync import VoxClient
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.vouchers import Receipt, sign_voucher
from voxpop.node.service import BroadcastResult

CHANNEL_GAS = 200_000
VIEW_WAIT = 15.0  # seconds a provider's view may lag behind a channel just opened or topped up
RETRY_PAUSE = 0.2
# 402 problems that may only mean the provider's verified view lags the chain; the client reads
# the channel itself to tell a lag (wait) from a channel that ended (open a new one)
LAGGING = frozenset({"unknown_channel", "over_deposit", "channel_closing"})
MAX_REOPENS = 1  # channels one call may open after finding its channel ended


@dataclass(frozen=True, slots=True)
class PaidAnswer:
    body: bytes
    content_type: str
    provider: bytes
    kind: str
    cost: int  # uvox this call paid
    amount: int  # the channel's cumulative amount after it
    receipt: Receipt  # verified with the offer's signing key
    latency: float  # seconds, the HTTP exchange


class _Retry(Exception):
    """Try the same provider again (the problem was fixed)."""


class _Reopen(_Retry):
    """The channel ended on chain: try again on a new one."""


class _Skip(Exception):
    """Move on to the next provider, for `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PayingClient:
    """Pays for calls from `account_key`'s account (it funds the channels); vouchers are signed
    by `voucher_key` (default: the account key), the key each channel names. The ledger (a path
    or a Ledger) keeps amounts, receipts and spending across restarts."""

    def __init__(
        self,
        vox: VoxClient,
        account_key: PrivateKey,
        *,
        ledger: Ledger | str | Path,
        voucher_key: PrivateKey | None = None,
        policy: Policy | None = None,
        chain_id: str | None = None,
        http: ProviderHttp | None = None,
        offer_ttl: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.vox = vox
        self.account_key = account_key
        self.payer = account_key.public_key.address
        voucher = voucher_key or account_key
        self._voucher_key = SigningKey(voucher.seed)
        self.voucher_public = voucher.public_key.raw
        self.policy = policy or Policy()
        self.ledger = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
        self._own_ledger = not isinstance(ledger, Ledger)
        self._chain_id = chain_id
        self._http = http or ProviderHttp()
        self._own_http = http is None
        self.offer_ttl = offer_ttl
        self.clock = clock
        self.selector = Selector(self.policy)
        self._offers: dict[str, tuple[float, list[Candidate]]] = {}
        self._lock = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        if self._own_http:
            self._http.close()
        if self._own_ledger:
            self.ledger.close()

    def __enter__(self) -> PayingClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def chain_id(self) -> str:
        if self._chain_id is None:
            self._chain_id = self.vox.status().chain_id
        return self._chain_id

    # --- reading --------------------------------------------------------------------------------

    def offers(self, kind: str, *, refresh: bool = False) -> list[Candidate]:
        """The active offers of `kind`, proven; cached for `offer_ttl` seconds."""
        cached = self._offers.get(kind)
        now = time.monotonic()
        if refresh or cached is None or now - cached[0] > self.offer_ttl:
            cached = (now, fetch_candidates(self.vox, kind))
            self._offers[kind] = cached
            for c in cached[1]:
                stats = self.selector.stats_of(c.provider)
                stats.receipts = max(stats.receipts, self.ledger.receipt_count(c.provider))
        return list(cached[1])

    def spent_today(self) -> tuple[int, dict[str, int]]:
        return self.ledger.spent(self.today())

    def receipts(self, provider: bytes | None = None) -> list[StoredReceipt]:
        return self.ledger.receipts(provider)

    # --- calling --------------------------------------------------------------------------------

    def call(
        self,
        kind: str,
        body: bytes,
        *,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
        language: str | None = None,
    ) -> PaidAnswer:
        """Call the best provider of `kind` with `body`, paying it; fail over to the next one.

        Raises SpendingCapError (before anything is signed), NoProviderError (every provider
        failed; `tried` says why), PaymentRefusedError (the request itself is refused),
        BadAudioError, ProofVerificationError (the offers did not verify).
        """
        units = price_units(kind, body)
        with self._lock:
            candidates = [
                c for c in self.offers(kind) if language is None or language in c.offer.languages
            ]
            ranked = self.selector.rank(candidates)
            tried: dict[str, str] = {}
            capped: list[SpendingCapError] = []
            for candidate in ranked:
                try:
                    return self._call_one(candidate, body, units, content_type, params)
                except SpendingCapError as exc:
                    capped.append(exc)  # a cheaper provider may still fit
                    tried[candidate.name] = exc.message
                except _Skip as skip:
                    tried[candidate.name] = skip.reason
            # Every provider would have passed a cap: that is the error, not availability
            if capped and len(capped) == len(ranked):
                raise capped[0]
            raise NoProviderError(kind, tried)

    def call_provider(
        self,
        provider: bytes,
        kind: str,
        body: bytes,
        *,
        content_type: str = "application/json",
    ) -> PaidAnswer:
        """Call one given provider of `kind`, paying it (a grantee must ask the privacy nodes
        its grant names, not the best-ranked ones). Raises NoProviderError (no active offer of
        it, or it failed or refused: `tried` says why), SpendingCapError, PaymentRefusedError."""
        units = price_units(kind, body)
        with self._lock:
            candidate = next((c for c in self.offers(kind) if c.provider == provider), None)
            if candidate is None:
                raise NoProviderError(kind, {provider.hex(): "no active offer"})
            try:
                return self._call_one(candidate, body, units, content_type, None)
            except _Skip as skip:
                raise NoProviderError(kind, {candidate.name: skip.reason}) from None

    def _call_one(
        self,
        candidate: Candidate,
        body: bytes,
        units: int,
        content_type: str,
        params: Mapping[str, str] | None,
    ) -> PaidAnswer:
        cost = candidate.offer.price * units
        day = self.today()
        spent_total, by_kind = self.ledger.spent(day)
        # Verify the caps allow this call before any voucher is signed or channel opened
        self.policy.check_caps(candidate.kind, cost, spent_total, by_kind.get(candidate.kind, 0))
        deadline = time.monotonic() + VIEW_WAIT
        reopens = 0
        while True:
            try:
                return self._attempt(candidate, body, cost, day, content_type, params)
            except _Reopen:
                reopens += 1
                if reopens > MAX_REOPENS:
                    self.selector.record_failure(candidate.provider, "ends channels at once")
                    raise _Skip("ended a new channel at once") from None
            except _Retry:
                if time.monotonic() > deadline:
                    self.selector.record_failure(candidate.provider, "kept refusing the voucher")
                    raise _Skip("kept refusing the voucher") from None
                time.sleep(RETRY_PAUSE)

    def _attempt(
        self,
        candidate: Candidate,
        body: bytes,
        cost: int,
        day: str,
        content_type: str,
        params: Mapping[str, str] | None,
    ) -> PaidAnswer:
        record = self._channel_for(candidate.provider, cost)
        amount = max(record.accepted + cost, record.issued)
        spend = self.ledger.reserve(record.channel_id, candidate.kind, amount, cost, day)
        voucher = sign_voucher(self._voucher_key, self.chain_id, record.channel_id, amount)
        url = candidate.offer.endpoint.rstrip("/") + f"/v1/{candidate.kind}"
        headers = {"Content-Type": content_type, **payment_headers(voucher)}
        started = time.monotonic()
        try:
            resp = self._http.post(url, body, headers, self.policy.timeout, params)
        except ConnectFailedError as exc:
            self.ledger.release(spend)  # never connected: the voucher did not leave
            self.selector.record_failure(candidate.provider, "down")
            raise _Skip(f"down ({exc})") from None
        except TimedOutError:
            self.selector.record_failure(candidate.provider, "slow")
            raise _Skip(f"slow (no answer within {self.policy.timeout} s)") from None
        except TransportError as exc:
            self.selector.record_failure(candidate.provider, "down")
            raise _Skip(f"down ({exc})") from None
        latency = time.monotonic() - started
        if resp.status == 200:
            try:
                receipt = check_receipt(
                    chain_id=self.chain_id,
                    signing_key=candidate.offer.signing_key,
                    voucher=voucher,
                    request=body,
                    response=resp.content,
                    headers=resp.headers,
                )
            except BadAnswerError as exc:
                # The provider may hold the voucher: the spend stays; the answer is not paid
                self.selector.record_failure(candidate.provider, exc.message)
                raise _Skip(f"bad answer: {exc.message}") from None
            self.ledger.record_receipt(
                candidate.provider, candidate.kind, cost, receipt, self.clock()
            )
            self.selector.record_success(candidate.provider, latency)
            return PaidAnswer(
                resp.content,
                resp.headers.get("content-type", ""),
                candidate.provider,
                candidate.kind,
                cost,
                amount,
                receipt,
                latency,
            )
        # Refused: the provider did not serve, so this call paid nothing
        self.ledger.release(spend)
        problem = parse_problem(resp.status, resp.content)
        self._handle_problem(candidate, record, problem)
        raise AssertionError("unreachable")  # _handle_problem always raises

    def _handle_problem(self, candidate: Candidate, record: ChannelRecord, p: Problem) -> None:
        """Raise _Retry if the problem is fixed, _Skip to move on, or PaymentRefusedError."""
        provider = candidate.provider
        if p.status == 402 and p.code == "voucher_stale" and p.accepted is not None:
            # Verify the provider claims to hold no more than was ever signed (else it lies)
            if p.accepted > record.issued:
                self.selector.record_failure(provider, "claims a voucher never signed")
                raise _Skip("claims to hold an amount never signed")
            self.ledger.sync_accepted(record.channel_id, p.accepted)
            raise _Retry
        if p.status == 402 and p.code in LAGGING:
            self._check_channel(record)
            raise _Retry
        if p.status == 400:
            raise PaymentRefusedError(p.code, p.message)
        if p.status == 402 and p.code == "underpaid":
            self._offers.pop(candidate.kind, None)  # the price changed: read the offers again
        skip = p.status != 413
        self.selector.record_failure(provider, f"{p.status} {p.code}", skip=skip)
        raise _Skip(f"{p.status} {p.code}: {p.message}")

    # --- channels -------------------------------------------------------------------------------

    def _check_channel(self, record: ChannelRecord) -> None:
        """Read the channel from the chain (proven). Raise _Reopen if it ended or is settling
        (the ledger marks it closed); return if it is open as the ledger says (a lagging view)."""
        try:
            on_chain = fetch_channel(self.vox, record.channel_id)
        except VoxClientError:
            return  # cannot tell: wait as for a lag
        if on_chain is None or on_chain.settle_at != 0:
            self.ledger.mark_closed(record.channel_id)
            raise _Reopen
        if on_chain.deposit < record.deposit:
            # Verify the ledger never counts on more than the chain holds (a lost top-up)
            self.ledger.set_deposit(record.channel_id, on_chain.deposit)

    def _channel_for(self, provider: bytes, cost: int) -> ChannelRecord:
        """The open channel to `provider`, opened or topped up so it can pay `cost` more and
        stay above the policy's threshold."""
        record = self.ledger.open_channel_to(self.payer, provider, self.voucher_public)
        if record is None:
            record = self._open(provider, max(self.policy.deposit, cost))
        need = max(record.accepted + cost, record.issued)
        if record.deposit - need < self.policy.top_up_below:
            shortfall = need + self.policy.top_up_below - record.deposit
            self.top_up(record.channel_id, max(self.policy.top_up_amount, shortfall))
            found = self.ledger.channel(record.channel_id)
            assert found is not None
            record = found
        return record

    def _open(self, provider: bytes, deposit: int) -> ChannelRecord:
        msg = MsgOpen(
            payer=self.payer, payee=provider, voucher_key=self.voucher_public, deposit=deposit
        )
        result = self._execute(msg, "open a channel")
        channel_id = next(
            (
                bytes.fromhex(value)
                for event in result.events
                if (value := event.attr("channel_id")) is not None
            ),
            None,
        )
        if channel_id is None:
            raise PaymentError("the channel opened, but its id is not in the tx's events")
        record = ChannelRecord(
            channel_id, self.payer, provider, self.voucher_public, deposit, 0, 0, self.clock()
        )
        self.ledger.add_channel(record)
        return record

    def top_up(self, channel_id: bytes, amount: int) -> None:
        """Add `amount` uvox to the channel's deposit (on chain, then in the ledger)."""
        record = self.ledger.channel(channel_id)
        if record is None:
            raise PaymentError(f"unknown channel {channel_id.hex()}")
        self._execute(MsgTopUp(payer=self.payer, channel_id=channel_id, amount=amount), "top up")
        self.ledger.set_deposit(channel_id, record.deposit + amount)

    def settle(self, channel_id: bytes) -> None:
        """Start the channel's settle window (the payer leaves; the provider may still claim
        until it ends). The client opens a new channel for later calls to that provider."""
        self._execute(MsgSettle(payer=self.payer, channel_id=channel_id), "settle")
        self.ledger.mark_closed(channel_id)

    def _execute(self, msg: MsgOpen | MsgTopUp | MsgSettle, what: str) -> BroadcastResult:
        try:
            result = self.vox.execute(self.account_key, [msg], gas_limit=CHANNEL_GAS)
        except VoxClientError as exc:
            raise PaymentError(f"could not {what}: {exc}") from exc
        if result.code != 0:
            raise PaymentError(f"could not {what}: [{result.code}] {result.log}")
        return result

    def today(self) -> str:
        """The UTC day the spending caps count in (YYYY-MM-DD)."""
        return datetime.datetime.fromtimestamp(self.clock(), datetime.UTC).strftime("%Y-%m-%d")
