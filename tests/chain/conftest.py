from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chain.harness import Chain, key

ALICE, BOB, CAROL = key(1), key(2), key(3)


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    c = Chain.start(tmp_path / "state", [(ALICE, 1_000_000_000), (BOB, 5_000_000)])
    yield c
    c.app.store.close()


@pytest.fixture
def pos(tmp_path: Path) -> Iterator[Chain]:
    """Two bonded genesis validators (OP1/CONS1, OP2/CONS2), small periods (tests/chain/pos.py)."""
    from tests.chain.pos import start

    c = start(tmp_path / "pos")
    yield c
    c.app.store.close()
