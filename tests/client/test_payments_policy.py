"""The owner's policy (caps, bounds) and provider selection (weights, cooldown, failover order)."""

from __future__ import annotations

import pytest

from voxpop.chain.modules.services.state import Offer, Reputation
from voxpop.client.payments import Candidate, Policy, Selector, SpendingCapError, Weights


def _candidate(n: int, price: int, settled: int = 0, payers: int = 0) -> Candidate:
    offer = Offer(f"http://127.0.0.1:{9000 + n}", price, ("en-us",), bytes([n]) * 32, 10**9, 1)
    return Candidate(bytes([n]) * 20, "echo", offer, Reputation(settled=settled, payers=payers))


def test_caps_per_service_and_total() -> None:
    policy = Policy(daily_cap=100, service_caps={"stt": 50})
    policy.check_caps("stt", 10, spent_total=40, spent_kind=40)  # exactly at the cap is fine
    with pytest.raises(SpendingCapError) as err:
        policy.check_caps("stt", 11, spent_total=40, spent_kind=40)
    assert (err.value.scope, err.value.cap, err.value.code) == ("stt", 50, "spending_cap")
    with pytest.raises(SpendingCapError) as err:
        policy.check_caps("echo", 11, spent_total=90, spent_kind=0)
    assert err.value.scope == "total"
    Policy().check_caps("echo", 10**15, spent_total=10**15, spent_kind=10**15)  # no caps


@pytest.mark.parametrize(
    "kwargs",
    [
        {"deposit": 0},
        {"deposit": 10, "top_up_below": 10},
        {"top_up_amount": -1},
        {"daily_cap": -1},
        {"service_caps": {"stt": -5}},
        {"timeout": 0},
    ],
)
def test_invalid_policy(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Policy(**kwargs)  # type: ignore[arg-type]


def test_invalid_weights() -> None:
    with pytest.raises(ValueError):
        Weights(0, 0, 0, 0)
    with pytest.raises(ValueError):
        Weights(price=-1)


def test_cheapest_first_when_nothing_is_measured() -> None:
    sel = Selector(Policy())
    ranked = sel.rank([_candidate(1, 30), _candidate(2, 10), _candidate(3, 20)])
    assert [c.offer.price for c in ranked] == [10, 20, 30]


def test_measured_latency_and_receipts_beat_chain_reputation() -> None:
    """A provider with a large settled value (perhaps self-dealt) but slow, failing calls loses
    to one the payer measured fast and honest."""
    sel = Selector(Policy())
    famous, honest = _candidate(1, 10, settled=10**12), _candidate(2, 10)
    for _ in range(5):
        sel.record_success(honest.provider, 0.005)
        sel.record_success(famous.provider, 0.200)
    sel.record_failure(famous.provider, "bad answer", skip=False)
    assert [c.provider for c in sel.rank([famous, honest])] == [honest.provider, famous.provider]
    # With the owner's weights on reputation only, the order flips
    rep_only = Selector(Policy(weights=Weights(0, 0, 0, 1)))
    assert rep_only.rank([famous, honest])[0].provider == famous.provider


def test_failed_provider_is_skipped_for_the_cooldown() -> None:
    now = [100.0]
    sel = Selector(Policy(cooldown=60), clock=lambda: now[0])
    a, b = _candidate(1, 10), _candidate(2, 20)
    sel.record_failure(a.provider, "down")
    assert [c.provider for c in sel.rank([a, b])] == [b.provider]
    now[0] += 61
    assert sel.rank([a, b])[0].provider == a.provider


def test_max_price_leaves_offers_out() -> None:
    sel = Selector(Policy(max_price={"echo": 15}))
    assert [c.offer.price for c in sel.rank([_candidate(1, 10), _candidate(2, 20)])] == [10]


def test_reputation_counts_value_settled_and_distinct_payers() -> None:
    sel = Selector(Policy(weights=Weights(0, 0, 0, 1)))
    one_whale = _candidate(1, 10, settled=1_000, payers=1)
    many = _candidate(2, 10, settled=900, payers=50)
    scores = sel.scores([one_whale, many])
    assert scores[many.provider] > scores[one_whale.provider]
    assert sel.scores([_candidate(3, 10)])[bytes([3]) * 20] == 0.0
