"""The wallet page's data: balance, receive (address and QR code), spending by service and by day
(a server-drawn SVG bar chart), the agent's spending allowances and their daily caps, the owner's
payment channels, the receipts providers signed, and the skill royalties paid.

`build_*` are pure (unit-tested); `read_wallet` gathers their inputs from the chain (the owner's
balance and channels, the agent's grants) and from the agent's home (its payment ledger, its
royalty tally).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import segno

from voxpop.agent.home.views.amounts import Amount, short_hex, vox
from voxpop.agent.home.views.errors import InputError
from voxpop.agent.home.views.labels import (
    SERVICE_LABELS,
    SPENDING_LABELS,
    service_color,
    service_label,
)
from voxpop.chain.modules.authz.state import Grant
from voxpop.chain.modules.bank.messages import MsgSend
from voxpop.chain.modules.channels.state import Channel, decode_channel
from voxpop.chain.modules.feegrant.state import Allowance
from voxpop.chain.modules.limits import SpendLimits
from voxpop.client.agent_grants import SPENDING_MSG_TYPES, read_agent_grants
from voxpop.client.amount import parse_amount
from voxpop.client.errors import AmountError
from voxpop.client.payments.ledger import ChannelRecord, Ledger, StoredReceipt
from voxpop.client.sync import VoxClient
from voxpop.crypto.address import AddressError, decode_address, encode_address

CHART_DAYS = 14
CHART_WIDTH = 640
CHART_HEIGHT = 220
CHART_LEFT = 8
CHART_TOP = 12
CHART_BOTTOM = 28  # room for the day labels
RECEIPTS_SHOWN = 20
CHANNELS_BY_PAYER = "/channels/by_payer"


# --- spending chart -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    kind: str
    label: str
    amount: Amount
    x: int
    y: int
    width: int
    height: int
    color: str


@dataclass(frozen=True, slots=True)
class DayBar:
    day: str  # YYYY-MM-DD (UTC)
    label: str  # MM-DD
    total: Amount
    label_x: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class ServiceTotal:
    kind: str
    label: str
    amount: Amount
    color: str
    share: int  # whole percent of all spending shown


@dataclass(frozen=True, slots=True)
class SpendingChart:
    days: tuple[DayBar, ...]
    services: tuple[ServiceTotal, ...]
    total: Amount
    peak: Amount  # the highest day: the chart's full height
    width: int
    height: int
    baseline: int  # y of the bars' bottom

    @property
    def is_empty(self) -> bool:
        return self.total.uvox == 0


def last_days(today: datetime.date, count: int = CHART_DAYS) -> list[str]:
    """The `count` UTC days ending with `today`, oldest first, as the ledger names them."""
    return [
        (today - datetime.timedelta(days=back)).isoformat() for back in range(count - 1, -1, -1)
    ]


def build_spending_chart(
    days: Sequence[tuple[str, Mapping[str, int]]],
    *,
    width: int = CHART_WIDTH,
    height: int = CHART_HEIGHT,
) -> SpendingChart:
    """A stacked bar per day (oldest first), a segment per service, heights in whole pixels
    scaled to the highest day; and the totals by service, largest first."""
    kinds = sorted({kind for _, by_kind in days for kind, n in by_kind.items() if n > 0})
    others = [k for k in kinds if k not in SERVICE_LABELS]
    colors = {k: service_color(k, others) for k in kinds}
    totals = {k: sum(by_kind.get(k, 0) for _, by_kind in days) for k in kinds}
    all_spent = sum(totals.values())
    peak = max((sum(v for v in by_kind.values() if v > 0) for _, by_kind in days), default=0)
    baseline = height - CHART_BOTTOM
    plot = baseline - CHART_TOP
    slot = (width - CHART_LEFT) // max(len(days), 1)
    bar_width = max(slot * 2 // 3, 1)
    bars = []
    for i, (day, by_kind) in enumerate(days):
        x = CHART_LEFT + i * slot + (slot - bar_width) // 2
        y = baseline
        segments = []
        for kind in kinds:
            spent = by_kind.get(kind, 0)
            if spent <= 0:
                continue
            h = max(spent * plot // peak, 1)
            y -= h
            segments.append(
                Segment(kind, service_label(kind), vox(spent), x, y, bar_width, h, colors[kind])
            )
        total = sum(s.amount.uvox for s in segments)
        bars.append(DayBar(day, day[5:], vox(total), x + bar_width // 2, tuple(segments)))
    services = sorted(
        (
            ServiceTotal(k, service_label(k), vox(n), colors[k], n * 100 // all_spent)
            for k, n in totals.items()
        ),
        key=lambda s: (-s.amount.uvox, s.kind),
    )
    return SpendingChart(
        tuple(bars), tuple(services), vox(all_spent), vox(peak), width, height, baseline
    )


# --- allowances -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AllowanceRow:
    what: str
    msg_type: str
    cap: Amount | None  # per day; None: no cap
    spent_today: Amount
    left_today: Amount | None
    expires: str  # "never" or a UTC date


def spent_in_window(period_seconds: int, period_start: int, period_spent: int, now: int) -> int:
    """What a capped grant has spent in the window `now` falls in: the chain opens a new window
    lazily at the next spend, so a recorded window that has ended counts as 0."""
    if period_seconds and now >= period_start + period_seconds:
        return 0
    return period_spent


def format_time(unix: int | float) -> str:
    """A block time or a receipt's time as a UTC date and minute."""
    moment = datetime.datetime.fromtimestamp(int(unix), tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _expires(expiration: int) -> str:
    return "never" if expiration == 0 else format_time(expiration)


def build_allowances(
    grants: Mapping[str, Grant], allowance: Allowance | None, now: int
) -> tuple[AllowanceRow, ...]:
    """The agent's spending grants (the daily cap of each), then its fee allowance; `now` is
    the latest block time."""
    rows = []
    for msg_type in sorted(t for t in grants if t in SPENDING_MSG_TYPES):
        limits = grants[msg_type].limits
        rows.append(_row(SPENDING_LABELS[msg_type], msg_type, limits, grants[msg_type], now))
    if allowance is not None:
        rows.append(
            _row("Fees for what the agent does for you", "fees", allowance.limits, allowance, now)
        )
    return tuple(rows)


def _row(
    what: str, msg_type: str, limits: SpendLimits, holder: Grant | Allowance, now: int
) -> AllowanceRow:
    spent = spent_in_window(limits.period_seconds, limits.period_start, limits.period_spent, now)
    capped = limits.period_seconds > 0
    return AllowanceRow(
        what=what,
        msg_type=msg_type,
        cap=vox(limits.period_limit) if capped else None,
        spent_today=vox(spent),
        left_today=vox(max(limits.period_limit - spent, 0)) if capped else None,
        expires=_expires(holder.expiration),
    )


def parse_cap(text: str) -> int:
    """A new daily cap from the form (VOX by default: "5" is 5 VOX). Raises InputError."""
    raw = text.strip().lower().replace(" ", "")
    if raw and raw[-1].isdigit():
        raw += "vox"
    try:
        return parse_amount(raw)
    except AmountError as exc:
        raise InputError("invalid_cap", f"The cap is not an amount: {exc}") from None


# --- channels, receipts, royalties ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelRow:
    channel_id: str
    short_id: str
    provider: str
    deposit: Amount
    paid: Amount  # claimed by the provider on chain
    signed: Amount | None  # what this agent signed away (its ledger), if it knows the channel
    left: Amount
    state: str


def build_channels(
    onchain: Sequence[tuple[bytes, Channel]], local: Mapping[bytes, ChannelRecord], now: int
) -> tuple[ChannelRow, ...]:
    """The owner's channels as the chain holds them, with what this agent signed in each."""
    rows = []
    for channel_id, ch in onchain:
        record = local.get(channel_id)
        used = max(ch.claimed, record.issued if record is not None else 0)
        if not ch.is_settling():
            state = "open"
        elif ch.is_window_ended(now):
            state = "closed: the rest can be collected"
        else:
            state = f"closing {format_time(ch.settle_at)}"
        rows.append(
            ChannelRow(
                channel_id=channel_id.hex(),
                short_id=short_hex(channel_id),
                provider=encode_address(ch.payee),
                deposit=vox(ch.deposit),
                paid=vox(ch.claimed),
                signed=vox(record.issued) if record is not None else None,
                left=vox(max(ch.deposit - used, 0)),
                state=state,
            )
        )
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class ReceiptRow:
    when: str
    service: str
    provider: str
    cost: Amount
    channel: str


def build_receipts(
    stored: Sequence[StoredReceipt], limit: int = RECEIPTS_SHOWN
) -> tuple[ReceiptRow, ...]:
    """The newest `limit` receipts, newest first."""
    newest = sorted(stored, key=lambda r: r.at, reverse=True)[:limit]
    return tuple(
        ReceiptRow(
            when=format_time(r.at),
            service=service_label(r.kind),
            provider=encode_address(r.provider),
            cost=vox(r.cost),
            channel=short_hex(r.receipt.channel_id),
        )
        for r in newest
    )


@dataclass(frozen=True, slots=True)
class RoyaltyRow:
    skill: str
    uses_paid: int
    uses_pending: int
    fee: Amount | None  # per use today; None: not registered on chain
    paid: Amount | None  # uses paid at today's fee


def build_royalties(
    settled: Mapping[str, int], pending: Mapping[str, int], fees: Mapping[str, int | None]
) -> tuple[RoyaltyRow, ...]:
    rows = []
    for skill in sorted(set(settled) | set(pending)):
        fee = fees.get(skill)
        uses = int(settled.get(skill, 0))
        rows.append(
            RoyaltyRow(
                skill=skill,
                uses_paid=uses,
                uses_pending=int(pending.get(skill, 0)),
                fee=vox(fee) if fee is not None else None,
                paid=vox(fee * uses) if fee is not None else None,
            )
        )
    return tuple(rows)


# --- receive and send -----------------------------------------------------------------------


def qr_data_uri(address: str) -> str:
    """The address as a QR code, an SVG `data:` URI (the CSP allows `img-src data:`)."""
    return str(segno.make(address, error="m").svg_data_uri(scale=4, border=2))


def send_msgs(owner: bytes, to_text: str, amount_text: str) -> list[MsgSend]:
    """The owner's bank/Send from the send form. Raises InputError in plain words."""
    to_raw = to_text.strip()
    try:
        recipient = decode_address(to_raw)
    except AddressError:
        raise InputError(
            "invalid_address",
            "That is not a voxpop address: it starts with vox1 and is 42 characters long.",
        ) from None
    if recipient == owner:
        raise InputError("send_to_self", "That is your own address: nothing would move.")
    raw = amount_text.strip().lower().replace(" ", "")
    if raw and raw[-1].isdigit():
        raw += "vox"  # the form asks for VOX
    try:
        amount = parse_amount(raw)
    except AmountError as exc:
        raise InputError("invalid_amount", f"The amount is not usable: {exc}") from None
    return [MsgSend(sender=owner, recipient=recipient, amount=amount)]


# --- the page -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WalletView:
    address: str
    balance: Amount
    qr: str
    chart: SpendingChart
    agent: str
    allowances: tuple[AllowanceRow, ...]
    channels: tuple[ChannelRow, ...]
    receipts: tuple[ReceiptRow, ...]
    royalties: tuple[RoyaltyRow, ...]
    height: int


def read_channels(client: VoxClient, owner: bytes) -> list[tuple[bytes, Channel]]:
    listed = client.query_list(CHANNELS_BY_PAYER, owner)
    return [(item.id, decode_channel(item.value)) for item in listed.items]


def read_skill_fees(client: VoxClient, skills: Sequence[str]) -> dict[str, int | None]:
    from voxpop.chain.modules.skills.state import decode_skill

    fees: dict[str, int | None] = {}
    for skill in skills:
        raw = client.query("/skills/skill", skill.encode()).value
        fees[skill] = decode_skill(raw).fee if raw else None
    return fees


def read_wallet(
    client: VoxClient,
    owner: bytes,
    agent: bytes,
    ledger: Ledger | None,
    settled: Mapping[str, int],
    pending: Mapping[str, int],
    today: datetime.date,
) -> WalletView:
    """Everything the wallet page shows (chain reads proven)."""
    status = client.status()
    now = status.latest_block_time_unix
    address = encode_address(owner)
    balance = client.balance(owner, prove=True)
    held = read_agent_grants(client, owner, agent)
    days = last_days(today)
    spent = [(day, ledger.spent(day)[1]) for day in days] if ledger is not None else []
    local = {c.channel_id: c for c in ledger.channels()} if ledger is not None else {}
    receipts = ledger.receipts() if ledger is not None else []
    fees = read_skill_fees(client, sorted(set(settled) | set(pending)))
    return WalletView(
        address=address,
        balance=vox(balance),
        qr=qr_data_uri(address),
        chart=build_spending_chart(spent or [(d, {}) for d in days]),
        agent=encode_address(agent),
        allowances=build_allowances(held.grants, held.allowance, now),
        channels=build_channels(read_channels(client, owner), local, now),
        receipts=build_receipts(receipts),
        royalties=build_royalties(settled, pending, fees),
        height=status.latest_height,
    )
