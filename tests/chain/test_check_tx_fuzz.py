"""check_tx under arbitrary and mutated input: always a clean rejection code, never a crash, and
state (committed and mempool) unchanged by anything rejected."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.chain.conftest import ALICE, BOB
from tests.chain.harness import Chain, send_msg
from voxpop.chain.errors import ERRORS

FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(junk=st.binary(max_size=600))
def test_fuzz_check_tx_random_bytes(chain: Chain, junk: bytes) -> None:
    before = chain.snapshot()
    res = chain.check(junk)
    assert res.code in ERRORS and res.code != 1
    assert chain.snapshot() == before


@FUZZ
@given(position=st.integers(min_value=0, max_value=10_000), value=st.integers(0, 255))
def test_fuzz_check_tx_mutated(chain: Chain, position: int, value: int) -> None:
    good = bytearray(chain.tx(ALICE, [send_msg(ALICE, BOB, 1)], sequence=0))
    good[position % len(good)] = value
    before = chain.snapshot()
    res = chain.check(bytes(good))
    assert res.code != 1, res.log  # never an internal error
    assert chain.snapshot() == before  # check_tx never writes committed state
