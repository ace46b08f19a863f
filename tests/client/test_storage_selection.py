"""Choosing storage providers: usable ones only, best first (fewest faults, cheapest, most room,
then address), distinct, the current holders of an object excluded."""

from __future__ import annotations

import pytest

from voxpop.client.storage import NotEnoughProvidersError, ProviderView, choose_providers


def provider(i: int, *, price: int = 10, faults: int = 0, free: int = 1 << 30) -> ProviderView:
    return ProviderView(
        address=bytes([i]) * 20,
        endpoint=f"http://127.0.0.1:{9000 + i}",
        capacity=free + 100,
        used=100,
        price=price,
        collateral=1_000,
        faults=faults,
    )


def test_fewest_faults_then_cheapest_then_roomiest_then_address() -> None:
    ps = [
        provider(1, price=5, faults=2),
        provider(2, price=20),
        provider(3, price=10, free=1 << 20),
        provider(4, price=10, free=1 << 30),
        provider(5, price=10, free=1 << 30),
    ]
    chosen = choose_providers(ps, 4, 1000)
    assert [p.address[0] for p in chosen] == [4, 5, 3, 2]


def test_skips_full_too_expensive_and_endpointless() -> None:
    ps = [
        provider(1, free=10),
        provider(2, price=50),
        ProviderView(bytes([3]) * 20, "", 1 << 30, 0, 1, 1, 0),
        provider(4),
        provider(5),
    ]
    chosen = choose_providers(ps, 2, 1000, max_price=40)
    assert [p.address[0] for p in chosen] == [4, 5]


def test_excludes_current_holders_and_duplicates() -> None:
    ps = [provider(1), provider(1), provider(2), provider(3)]
    chosen = choose_providers(ps, 2, 10, exclude={bytes([2]) * 20})
    assert [p.address[0] for p in chosen] == [1, 3]


def test_invalid_not_enough_providers() -> None:
    with pytest.raises(NotEnoughProvidersError) as err:
        choose_providers([provider(1), provider(2, free=1)], 2, 1000)
    assert err.value.code == "not_enough_providers"
    assert "1 usable of 2" in err.value.message


def test_at_least_takes_what_is_usable() -> None:
    ps = [provider(1), provider(2), provider(3, free=1)]
    chosen = choose_providers(ps, 3, 1000, at_least=1)
    assert [p.address[0] for p in chosen] == [1, 2]
    with pytest.raises(NotEnoughProvidersError):
        choose_providers(ps, 3, 1000, at_least=3)
