from __future__ import annotations

from typing import Any

import pytest

from voxpop.sim import RunResult, make_params, simulate
from voxpop.sim.world import World

# A small world that still does everything in 12 days: households join over 2 days, some serve
# STT and storage, deals run 2 daily epochs and end (paying providers), payees claim every 2 days,
# governance spends the pool (a proposal on day 4, passed after a 1-day vote), rows every 4 days.
SMALL: dict[str, Any] = {
    "households": 24,
    "days": 12,
    "seed": 7,
    "month_days": 4,
    "validators": 2,
    "delegators": 4,
    "onboarding_days": 2,
    "serve_stt_bps": 3_000,
    "serve_storage_bps": 3_000,
    "sell_data_bps": 5_000,
    "store_bps": 5_000,
    "services_min_stake": 5_000_000,
    "storage_epoch_days": 1,
    "deal_epochs": 2,
    "claim_days": 2,
    "channel_days": 5,
    "gov_voting_days": 1,
}


@pytest.fixture(scope="session")
def checked_run() -> tuple[RunResult, list[int]]:
    """The small world, supply checked after every block; the heights the check saw."""
    heights: list[int] = []

    def seen(world: World) -> None:
        heights.append(world.chain.height)

    return simulate(make_params(SMALL), check_every_block=True, on_block=seen), heights
