"""The run reports the chain's final state root, and the same inputs give the same root."""

from __future__ import annotations

from tests.sim.conftest import SMALL
from voxpop.sim import RunResult, make_params, simulate


def test_run_reports_the_final_app_hash(checked_run: tuple[RunResult, list[int]]) -> None:
    result, heights = checked_run
    assert len(result.app_hash) == 32
    assert result.blocks == heights[-1]


def test_same_inputs_give_the_same_app_hash(checked_run: tuple[RunResult, list[int]]) -> None:
    # Signatures are verified on a second thread while the model runs: the chain must not see it
    again = simulate(make_params(SMALL))
    assert again.app_hash == checked_run[0].app_hash
    assert again.rows == checked_run[0].rows


def test_another_seed_gives_another_app_hash(checked_run: tuple[RunResult, list[int]]) -> None:
    other = simulate(make_params(SMALL | {"seed": 8}))
    assert other.app_hash != checked_run[0].app_hash
