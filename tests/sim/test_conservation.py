"""Supply is conserved to the uvox at every simulated block: genesis + issued - burned equals the
supply, and equals the sum of every balance, module accounts included."""

from __future__ import annotations

from tests.sim.conftest import SMALL
from voxpop.sim import RunResult, make_params


def test_supply_conserved_at_every_block(checked_run: tuple[RunResult, list[int]]) -> None:
    result, heights = checked_run  # SimInvariantError would have stopped the run
    # Verify every block was checked, and the world did what the economics depend on
    assert heights == list(range(1, make_params(SMALL).total_blocks + 1))
    last = result.rows[-1]
    assert last.households == SMALL["households"]
    assert sum(r.issued for r in result.rows) > 0
    assert sum(r.gov_spent for r in result.rows) > 0  # a community spend passed
    assert sum(r.storage_server_income + r.storage_node_income for r in result.rows) > 0
    assert sum(r.stt_server_income for r in result.rows) > 0
    assert sum(r.skill_royalties for r in result.rows) > 0
    assert all(r.idle_rewards == 0 and r.idle_share == "0.0000" for r in result.rows)
