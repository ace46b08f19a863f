"""Amount parsing: every accepted spelling, every refusal, and a round trip through format_vox."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.client import AmountError, format_vox, parse_amount
from voxpop.client.amount import MAX_AMOUNT


@pytest.mark.parametrize(
    ("text", "uvox"),
    [
        ("1.5vox", 1_500_000),
        ("1500000uvox", 1_500_000),
        ("1500000", 1_500_000),
        ("1vox", 1_000_000),
        ("0.000001vox", 1),
        ("0.1vox", 100_000),
        ("1.000000vox", 1_000_000),
        ("007uvox", 7),
        ("  42  ", 42),
        ("18446744073709551615", MAX_AMOUNT),
        ("18446744073709.551615vox", MAX_AMOUNT),
    ],
)
def test_parse_amount(text: str, uvox: int) -> None:
    assert parse_amount(text) == uvox


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "-1vox",
        "+1vox",
        "-5",
        "0",
        "0vox",
        "0.0vox",
        "0uvox",
        "1.5",  # a bare number is uvox, which has no decimals
        "1.5uvox",
        "0.0000001vox",  # finer than 1 uvox
        "1.vox",
        ".5vox",
        "1e6",
        "1e6uvox",
        "1,000uvox",
        "1_000",
        "1 vox",
        "1VOX",
        "1mvox",
        "vox",
        "1.5 vox",
        "0x10",
        "\uff11\uff12",  # non-ASCII digits
        "18446744073709551616",  # 2**64
        "18446744073709.551616vox",
        "9" * 41,
        "nan",
        "inf",
    ],
)
def test_invalid_amount(text: str) -> None:
    with pytest.raises(AmountError) as exc:
        parse_amount(text)
    assert exc.value.code == "invalid_amount"


def test_zero_allowed_when_asked() -> None:
    assert parse_amount("0", allow_zero=True) == 0
    assert parse_amount("0vox", allow_zero=True) == 0


def test_format_vox() -> None:
    assert format_vox(1_500_000) == "1.5vox"
    assert format_vox(1) == "0.000001vox"
    assert format_vox(0) == "0vox"
    assert format_vox(2_000_000) == "2vox"
    with pytest.raises(AmountError):
        format_vox(-1)


@given(st.integers(min_value=1, max_value=MAX_AMOUNT))
def test_format_round_trips(uvox: int) -> None:
    assert parse_amount(format_vox(uvox)) == uvox
    assert parse_amount(f"{uvox}uvox") == uvox
    assert parse_amount(str(uvox)) == uvox
