"""The same seed gives byte-identical CSV: two runs, and the committed golden file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sim.conftest import SMALL
from voxpop.sim import RunResult, make_params, simulate, to_csv

GOLDEN = Path(__file__).parent / "golden_small.csv"


@pytest.fixture(scope="module")
def first(checked_run: tuple[RunResult, list[int]]) -> str:
    return to_csv(checked_run[0].rows)


def test_same_seed_same_bytes(first: str) -> None:
    assert to_csv(simulate(make_params(SMALL)).rows) == first


def test_matches_committed_golden(first: str) -> None:
    # Regenerate with: python -c "from tests.sim.test_golden import regenerate; regenerate()"
    assert first == GOLDEN.read_text()


def test_ratios_are_fixed_decimals(first: str) -> None:
    header, *rows = first.splitlines()
    names = header.split(",")
    for row in rows:
        cells = dict(zip(names, row.split(","), strict=True))
        for name in ("staking_ratio", "idle_share"):
            whole, frac = cells[name].split(".")
            assert whole.isdigit() and len(frac) == 4 and frac.isdigit()


def regenerate() -> None:
    GOLDEN.write_text(to_csv(simulate(make_params(SMALL)).rows))
