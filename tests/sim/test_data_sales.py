"""Households that sell data are paid through the real market: offers, grants, counted
accesses, settlements and payouts, every one a tx of the small run (conservation holds at every
block: test_conservation)."""

from __future__ import annotations

from tests.sim.conftest import SMALL
from voxpop.sim import RunResult, make_params


def test_sellers_are_paid_each_month(checked_run: tuple[RunResult, list[int]]) -> None:
    rows = checked_run[0].rows
    price = make_params(SMALL).data_price
    assert rows[0].data_sellers > 0
    for row in rows:
        # Each seller answers each month's offer once, and is paid its price once
        assert row.data_sales == row.data_sellers
        assert row.data_earned == row.data_sales * price
