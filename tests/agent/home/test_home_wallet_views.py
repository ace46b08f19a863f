"""The wallet page's view functions: amounts, the spending chart, allowances, channels, receipts,
royalties, the send form's input and the receive QR code."""

from __future__ import annotations

import datetime
import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxpop.agent.home.views.amounts import Amount, percent, short_hex
from voxpop.agent.home.views.errors import InputError
from voxpop.agent.home.views.wallet import (
    CHART_HEIGHT,
    build_allowances,
    build_channels,
    build_receipts,
    build_royalties,
    build_spending_chart,
    last_days,
    parse_cap,
    qr_data_uri,
    send_msgs,
    spent_in_window,
)
from voxpop.chain.modules.authz.state import Grant
from voxpop.chain.modules.bank.messages import MsgSend
from voxpop.chain.modules.channels.state import Channel
from voxpop.chain.modules.feegrant.state import Allowance
from voxpop.chain.modules.limits import SpendLimits
from voxpop.client.amount import parse_amount
from voxpop.client.payments.ledger import ChannelRecord, StoredReceipt
from voxpop.crypto.address import encode_address
from voxpop.crypto.vouchers import Receipt

OWNER = bytes([1]) * 20
OTHER = bytes([2]) * 20
DAY = 86_400


def test_amount_text_groups_thousands_and_keeps_needed_decimals() -> None:
    assert Amount(1_234_500_000).text == "1,234.5 VOX"
    assert Amount(1).text == "0.000001 VOX"
    assert Amount(0).text == "0 VOX"
    assert Amount(10**12).text == "1,000,000 VOX"
    assert Amount(1_500_000).exact == "1,500,000 uvox"
    assert str(Amount(2_000_000)) == "2 VOX"


def test_percent_and_short_hex() -> None:
    assert percent(1, 3) == 33
    assert percent(5, 0) == 0
    assert short_hex(b"\xab" * 32) == "abababab…"
    assert short_hex("abc") == "abc"


def test_last_days_are_oldest_first_ending_today() -> None:
    days = last_days(datetime.date(2026, 3, 2), 3)
    assert days == ["2026-02-28", "2026-03-01", "2026-03-02"]


def test_spending_chart_stacks_services_scaled_to_the_highest_day() -> None:
    chart = build_spending_chart(
        [
            ("2026-01-01", {"stt": 3_000_000, "weather": 1_000_000}),
            ("2026-01-02", {}),
            ("2026-01-03", {"stt": 2_000_000, "odd_kind": 0}),
        ]
    )
    assert chart.total.uvox == 6_000_000 and chart.peak.uvox == 4_000_000
    first, empty, third = chart.days
    assert [s.kind for s in first.segments] == ["stt", "weather"]
    assert empty.segments == () and empty.total.uvox == 0
    plot = chart.baseline - 12
    # the highest day fills the plot; segments stack upwards from the baseline without a gap
    assert sum(s.height for s in first.segments) == plot
    assert first.segments[0].y + first.segments[0].height == chart.baseline
    assert first.segments[1].y + first.segments[1].height == first.segments[0].y
    assert third.segments[0].height == 2_000_000 * plot // 4_000_000
    # by service, largest first, with shares of all spending
    assert [(s.kind, s.share) for s in chart.services] == [("stt", 83), ("weather", 16)]
    assert chart.services[0].label == "Speech to text"
    assert chart.height == CHART_HEIGHT
    # every bar stays inside the drawing
    for bar in chart.days:
        for s in bar.segments:
            assert s.x >= 0 and s.x + s.width <= chart.width and s.y >= 0


def test_spending_chart_of_nothing_is_empty() -> None:
    chart = build_spending_chart([("2026-01-01", {}), ("2026-01-02", {})])
    assert chart.is_empty and chart.services == ()
    assert all(bar.segments == () for bar in chart.days)


def test_spent_in_window_counts_an_ended_window_as_nothing() -> None:
    assert spent_in_window(DAY, 1_000, 500, 1_000 + DAY - 1) == 500
    assert spent_in_window(DAY, 1_000, 500, 1_000 + DAY) == 0
    assert spent_in_window(0, 0, 0, 5) == 0


def test_allowances_show_each_spending_cap_and_the_fee_allowance() -> None:
    capped = SpendLimits(
        period_seconds=DAY, period_limit=10_000_000, period_start=100, period_spent=4_000_000
    )
    grants = {
        "channels/Open": Grant(capped),
        "skills/Settle": Grant(capped, expiration=1_800_000_000),
        "settings/Put": Grant(),  # not a spending grant: not shown
    }
    fee = Allowance(SpendLimits(period_seconds=DAY, period_limit=1_000_000, period_start=100))
    rows = build_allowances(grants, fee, now=200)
    assert [r.msg_type for r in rows] == ["channels/Open", "skills/Settle", "fees"]
    open_row = rows[0]
    assert open_row.cap == Amount(10_000_000) and open_row.spent_today == Amount(4_000_000)
    assert open_row.left_today == Amount(6_000_000) and open_row.expires == "never"
    assert rows[1].expires.startswith("2027-01-15")
    # a day later the chain has not opened the new window yet: nothing is spent in it
    later = build_allowances(grants, None, now=100 + DAY)
    assert later[0].spent_today == Amount(0) and later[0].left_today == Amount(10_000_000)


def test_parse_cap_reads_vox_and_refuses_nonsense_in_words() -> None:
    assert parse_cap("5") == 5_000_000
    assert parse_cap("2.5 vox") == 2_500_000
    assert parse_cap("700uvox") == 700
    with pytest.raises(InputError) as err:
        parse_cap("lots")
    assert err.value.code == "invalid_cap"


def test_channels_show_what_is_left_from_the_chain_and_the_ledger() -> None:
    cid_a, cid_b, cid_c = b"\x0a" * 32, b"\x0b" * 32, b"\x0c" * 32
    onchain = [
        (cid_a, Channel(OWNER, OTHER, b"k" * 32, 10_000_000, 1_000_000, 0, 5)),
        (cid_b, Channel(OWNER, OTHER, b"k" * 32, 5_000_000, 0, 10_000, 5)),
        (cid_c, Channel(OWNER, OTHER, b"k" * 32, 5_000_000, 0, 100, 5)),
    ]
    local = {cid_a: ChannelRecord(cid_a, OWNER, OTHER, b"k" * 32, 10_000_000, 3_000_000, 0, 0.0)}
    rows = build_channels(onchain, local, now=1_000)
    assert rows[0].left == Amount(7_000_000) and rows[0].signed == Amount(3_000_000)
    assert rows[0].state == "open" and rows[0].provider == encode_address(OTHER)
    assert rows[1].signed is None and rows[1].state.startswith("closing 1970-01-01")
    assert rows[2].state == "closed: the rest can be collected"


def test_receipts_newest_first_and_limited() -> None:
    def stored(at: float, cost: int) -> StoredReceipt:
        receipt = Receipt(b"\x0a" * 32, b"q" * 32, b"r" * 32, cost, b"s" * 64)
        return StoredReceipt(OTHER, "weather", cost, receipt, at)

    rows = build_receipts([stored(1_000.0, 1), stored(3_000.0, 3), stored(2_000.0, 2)], limit=2)
    assert [r.cost.uvox for r in rows] == [3, 2]
    assert rows[0].service == "Weather" and rows[0].when == "1970-01-01 00:50 UTC"


def test_royalties_price_the_paid_uses_at_the_skills_fee() -> None:
    rows = build_royalties(
        {"weather.alice": 10, "gone.bob": 2},
        {"weather.alice": 3, "new.carol": 1},
        {"weather.alice": 5_000, "gone.bob": None, "new.carol": 100},
    )
    by = {r.skill: r for r in rows}
    assert by["weather.alice"].paid == Amount(50_000) and by["weather.alice"].uses_pending == 3
    assert by["gone.bob"].fee is None and by["gone.bob"].paid is None
    assert by["new.carol"].uses_paid == 0 and by["new.carol"].paid == Amount(0)


def test_qr_code_is_an_svg_data_uri_of_the_address() -> None:
    address = encode_address(OWNER)
    uri = qr_data_uri(address)
    assert uri.startswith("data:image/svg+xml")
    assert "<svg" in urllib.parse.unquote(uri)
    assert qr_data_uri(address) == uri  # the same code for the same address


def test_send_builds_the_owners_bank_send() -> None:
    (msg,) = send_msgs(OWNER, f"  {encode_address(OTHER)} ", "1.5")
    assert isinstance(msg, MsgSend)
    assert (msg.sender, msg.recipient, msg.amount) == (OWNER, OTHER, 1_500_000)


@pytest.mark.parametrize(
    ("to", "amount", "code"),
    [
        ("vox1nothing", "1", "invalid_address"),
        ("", "1", "invalid_address"),
        (encode_address(OWNER), "1", "send_to_self"),
        (encode_address(OTHER), "-1", "invalid_amount"),
        (encode_address(OTHER), "0", "invalid_amount"),
        (encode_address(OTHER), "1.0000001", "invalid_amount"),
        (encode_address(OTHER), "", "invalid_amount"),
    ],
)
def test_invalid_send_is_refused_in_words(to: str, amount: str, code: str) -> None:
    with pytest.raises(InputError) as err:
        send_msgs(OWNER, to, amount)
    assert err.value.code == code and err.value.message[0].isupper()


KINDS = st.sampled_from(["stt", "weather", "knowledge", "odd", "other_kind"])
DAYS = st.lists(
    st.dictionaries(KINDS, st.integers(min_value=0, max_value=10**15), max_size=5),
    min_size=1,
    max_size=31,
)


@settings(max_examples=50, deadline=None)
@given(DAYS)
def test_spending_chart_invariants(days: list[dict[str, int]]) -> None:
    chart = build_spending_chart([(f"2026-01-{i + 1:02d}", d) for i, d in enumerate(days)])
    # the totals are the inputs' sums, by service and in all; shares never pass 100 %
    assert chart.total.uvox == sum(sum(d.values()) for d in days)
    assert sum(s.amount.uvox for s in chart.services) == chart.total.uvox
    assert sum(s.share for s in chart.services) <= 100
    plot = chart.baseline - 12
    for bar, spent in zip(chart.days, days, strict=True):
        assert bar.total.uvox == sum(spent.values())
        # every segment inside the drawing, stacked without gaps, never above the plot
        bottom = chart.baseline
        for s in bar.segments:
            assert s.height >= 1 and s.y + s.height == bottom
            assert s.x >= 0 and s.x + s.width <= chart.width
            bottom = s.y
        assert chart.baseline - bottom <= plot + len(bar.segments)  # 1 px minimum per segment


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_amount_text_reads_back_as_the_same_uvox(uvox: int) -> None:
    text = Amount(uvox).text
    assert text.endswith(" VOX")
    assert parse_amount(text.removesuffix(" VOX").replace(",", "") + "vox", allow_zero=True) == uvox
