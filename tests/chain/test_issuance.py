"""Issuance steered by stake (Cosmos x/mint's rule): properties of the rule, its params'
validation, and the rule on the real app."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.chain.pos import start, uint
from voxpop.chain import errors
from voxpop.chain.app import event_attrs
from voxpop.chain.modules.distribution.state import (
    BPS,
    INFLATION_PER_BPS,
    SECONDS_PER_YEAR,
    DistributionParams,
    next_inflation,
)


@st.composite
def issuance_params(draw: st.DrawFn) -> DistributionParams:
    low, start_, high = sorted(draw(st.lists(st.integers(0, BPS), min_size=3, max_size=3)))
    return DistributionParams(
        annual_inflation_bps=start_,
        min_inflation_bps=low,
        max_inflation_bps=high,
        community_tax_bps=200,
        goal_bonded_bps=draw(st.integers(1, BPS)),
        inflation_rate_change_bps=draw(st.integers(0, BPS)),
    )


@given(issuance_params(), st.data())
def test_rule_stays_in_bounds_moves_toward_goal_and_is_bounded(
    params: DistributionParams, data: st.DataObject
) -> None:
    low, high = params.min_inflation(), params.max_inflation()
    inflation = data.draw(st.integers(low, high))
    supply = data.draw(st.integers(1, 10**19))
    bonded = data.draw(st.integers(0, supply))
    seconds = data.draw(st.integers(0, 10 * SECONDS_PER_YEAR))
    following = next_inflation(inflation, bonded, supply, seconds, params)
    assert low <= following <= high
    # Toward the goal: below it inflation never falls, above it never rises
    below = bonded * BPS < params.goal_bonded_bps * supply
    above = bonded * BPS > params.goal_bonded_bps * supply
    if below:
        assert following >= inflation
    elif above:
        assert following <= inflation
    else:
        assert following == inflation
    # Bounded per block: at most the yearly rate of change times the time elapsed, scaled by how
    # far the ratio is from the goal (1 with nothing bonded, 1/goal - 1 with everything bonded)
    rate = params.inflation_rate_change_bps * INFLATION_PER_BPS
    goal = params.goal_bonded_bps
    reach = max(goal, BPS - goal)  # |1 - ratio / goal| <= reach / goal
    assert abs(following - inflation) <= rate * seconds * reach // (goal * SECONDS_PER_YEAR)


@given(issuance_params(), st.integers(1, 10**15), st.integers(1, 100))
def test_rule_converges_to_a_bound_on_the_goals_side(
    params: DistributionParams, supply: int, ratio_pct: int
) -> None:
    bonded = supply * ratio_pct // 100
    inflation = params.annual_inflation_bps * INFLATION_PER_BPS
    for _ in range(50):  # years
        inflation = next_inflation(inflation, bonded, supply, SECONDS_PER_YEAR, params)
    gap = params.goal_bonded_bps * supply - bonded * BPS
    if params.inflation_rate_change_bps == 0 or gap == 0:
        return
    # 50 years at any rate of change of at least 1 bps a year... reach a bound if the pull is
    # at least one bps a year
    pull = params.inflation_rate_change_bps * abs(gap) // (params.goal_bonded_bps * supply)
    if pull * 50 >= BPS:
        assert inflation == (params.max_inflation() if gap > 0 else params.min_inflation())


def dist(**changes: int) -> dict[str, int]:
    return {**asdict(DistributionParams()), **changes}


BAD = {
    "min_above_max": dist(min_inflation_bps=800, max_inflation_bps=700),
    "start_below_min": dist(annual_inflation_bps=100),
    "start_above_max": dist(annual_inflation_bps=800),
    "no_goal": dist(goal_bonded_bps=0),
    "goal_above_everything": dist(goal_bonded_bps=BPS + 1),
    "change_beyond_100_percent": dist(inflation_rate_change_bps=BPS + 1),
    "negative": dist(min_inflation_bps=-1),
    "missing_param": {k: v for k, v in dist().items() if k != "goal_bonded_bps"},
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_params_refused(name: str) -> None:
    with pytest.raises(errors.IssuanceParamsError):
        DistributionParams.from_value(BAD[name])


def test_headroom_is_checked_at_the_highest_rate(tmp_path: Path) -> None:
    """A genesis supply with room for a century at the start rate but not at the max is refused:
    the rule may take inflation to its max."""
    with pytest.raises(errors.InvalidGenesisError, match="100 years of issuance"):
        start(
            tmp_path / "c",
            distribution=DistributionParams(
                annual_inflation_bps=200, min_inflation_bps=200, max_inflation_bps=5_000
            ),
        )


def inflation(chain: Any) -> int:
    return uint(chain, "/distribution/inflation")


def test_below_goal_inflation_stays_at_max(pos: Any) -> None:
    """The test chains bond 0.02 % of supply: inflation sits at its max, 7 %, as the fixed rate
    did, so issuance is what it was."""
    pos.block([], advance=600)
    assert inflation(pos) == DistributionParams().max_inflation()
    events = [event_attrs(e) for e in pos.events if e.type == "issuance"]
    assert events and events[0]["inflation"] == str(700 * INFLATION_PER_BPS)


def test_above_goal_inflation_falls_to_min(tmp_path: Path) -> None:
    # 0.01 %: the test chain bonds 0.02 % of its supply (most of it is the grant pool)
    params = replace(DistributionParams(), goal_bonded_bps=1)
    chain = start(tmp_path / "c", distribution=params)
    before = inflation(chain) or params.max_inflation()
    chain.block([], advance=3600)
    first = inflation(chain)
    assert params.min_inflation() <= first < before
    chain.block([], advance=3600)
    assert inflation(chain) < first
    issued = uint(chain, "/distribution/issued")
    chain.block([], advance=2 * SECONDS_PER_YEAR)
    assert inflation(chain) == params.min_inflation()
    assert uint(chain, "/distribution/issued") > issued
    chain.app.store.close()
