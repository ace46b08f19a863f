"""Choosing the n storage providers of an object from the proven provider list.

A pure function of what the chain says (the list is proven complete, so a node cannot hide the
cheap or the reliable ones): usable providers are those with room for one shard, a price at or
under the owner's maximum, and not excluded (the object's current providers, when repairing:
two shards on one provider would fall together). They are ranked by

    1. fewest faults (missed or wrong proofs: the chain's reputation record),
    2. lowest price per GiB-epoch,
    3. most free capacity (spreads load),
    4. address (a stable tie-break, so the choice is reproducible),

and the first n are taken. Distinct providers only: the chain refuses a deal naming one twice.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from voxpop.client.storage.errors import NotEnoughProvidersError


@dataclass(frozen=True, slots=True)
class ProviderView:
    """A registered storage provider as the client reads it from the chain."""

    address: bytes
    endpoint: str
    capacity: int  # bytes offered
    used: int  # bytes placed with it
    price: int  # uvox per GiB per epoch
    collateral: int  # uvox
    faults: int

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.used)


def is_usable(p: ProviderView, shard_size: int, max_price: int | None) -> bool:
    return bool(p.endpoint) and p.free >= shard_size and (max_price is None or p.price <= max_price)


def rank_providers(providers: Sequence[ProviderView]) -> list[ProviderView]:
    """Best first: fewest faults, cheapest, most room, then by address."""
    return sorted(providers, key=lambda p: (p.faults, p.price, -p.free, p.address))


def choose_providers(
    providers: Sequence[ProviderView],
    count: int,
    shard_size: int,
    *,
    max_price: int | None = None,
    exclude: Collection[bytes] = (),
    at_least: int | None = None,
) -> list[ProviderView]:
    """`count` distinct providers for shards of `shard_size` bytes, best first; with `at_least`,
    as many as are usable up to `count`, if that is at least `at_least` (a repair moves what it
    can now and the rest later).

    Raises NotEnoughProvidersError (saying how many were usable and why the others were not).
    """
    seen: set[bytes] = set()
    usable = []
    for p in providers:
        if p.address in seen or p.address in exclude:
            continue
        seen.add(p.address)
        if is_usable(p, shard_size, max_price):
            usable.append(p)
    # Verify there are enough distinct usable providers for every shard (or the least asked)
    if len(usable) < (count if at_least is None else at_least):
        raise NotEnoughProvidersError(
            f"{count} storage providers needed, {len(usable)} usable of {len(providers)} "
            f"registered (room for {shard_size} bytes, price <= {max_price or 'any'}, "
            f"{len(exclude)} excluded)"
        )
    return rank_providers(usable)[:count]
