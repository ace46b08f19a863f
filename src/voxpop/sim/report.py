"""The monthly report: one row per simulated month, integers and fixed decimals only.

Ratios are written from integers (`ratio`), never through floats, so a seed gives the same bytes
on every machine. Amounts are uvox.
"""

from __future__ import annotations

import csv
import io
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from voxpop.chain.module_accounts import BONDED_POOL, COMMUNITY_POOL, GRANT_POOL, module_address
from voxpop.chain.modules.storage import state as storage_state

if TYPE_CHECKING:
    from voxpop.sim.world import World

GIB = 1 << 30


def ratio(num: int, den: int, places: int = 4) -> str:
    """num / den as a fixed decimal rounded down, from integers; "" when den is 0."""
    if den == 0:
        return ""
    scale = 10**places
    q = num * scale // den
    return f"{q // scale}.{q % scale:0{places}d}"


def quantile(sorted_values: list[int], num: int, den: int) -> int:
    """The value at rank floor((n-1) * num / den) of an ascending list (0 if empty)."""
    if not sorted_values:
        return 0
    return sorted_values[(len(sorted_values) - 1) * num // den]


@dataclass(frozen=True, slots=True)
class MonthRow:
    month: int
    day: int
    height: int
    supply: int
    issued: int
    burned: int
    inflation_bps: int  # the month's issuance over supply, a year
    fees: int
    base_price_per_mgas: int  # the fee market's base price at the month's end, uvox per 10^6 gas
    staking_ratio: str
    community_pool: int
    gov_spent: int  # cumulative: the developers' account, paid only by community spends
    grant_pool: int
    grants_paid: int
    grant_pool_months_left: str
    households: int
    wallet_median: int
    wallet_p10: int
    households_bought: int
    bought: int
    self_sustaining: int
    stt_servers: int
    stt_servers_refused: int
    stt_server_income: int
    stt_server_cost: int
    storage_servers: int
    storage_server_income: int
    storage_server_cost: int
    provider_income: int
    provider_cost: int
    storage_node_income: int
    storage_node_cost: int
    data_sellers: int  # households that opted in to sell data
    data_sales: int  # objects whose price was paid out this month
    data_earned: int  # uvox paid to selling households this month
    skill_royalties: int
    rewards_paid: int
    idle_rewards: int
    idle_share: str


def month_row(world: World, month: int, day: int) -> MonthRow:
    p = world.params
    chain = world.chain
    supply = chain.supply()
    issued = chain.issued() - world.month_start["issued"]
    burned = chain.burned - world.month_start["burned"]
    days = day - (world.rows[-1].day if world.rows else 0)
    active = [h for h in world.households if h.state == "active"]
    earnings: dict[bytes, int] = {}
    stt_income = stt_cost = stt_servers = 0
    prov_income = prov_cost = idle = 0
    for kind_payees in world.payees.values():
        for payee in kind_payees:
            cost = payee.calls_month * payee.cost
            if payee.household:
                stt_servers += 1
                stt_income += payee.income_month
                stt_cost += cost
                earnings[payee.address] = earnings.get(payee.address, 0) + payee.income_month - cost
            else:
                prov_income += payee.income_month
                prov_cost += cost
            if payee.load == 0:
                idle += payee.income_month  # paid with no calls routed to it: idle capacity
    st_income = st_cost = node_income = node_cost = storage_servers = 0
    for node in world.storage_nodes:
        cost = node.used * p.storage_cost * p.month_days // (GIB * p.storage_epoch_days)
        if node.household:
            storage_servers += 1
            st_income += node.income_month
            st_cost += cost
            earnings[node.address] = earnings.get(node.address, 0) + node.income_month - cost
        else:
            node_income += node.income_month
            node_cost += cost
        # Paid with no epoch ever proven on chain: paid for capacity, not for storage
        record = storage_state.get_provider(chain.app.committed, node.address)
        if node.income_month and (record is None or record.proven == 0):
            idle += node.income_month
    for h in world.market.by_text.values():
        if h.data_month:
            earnings[h.address] = earnings.get(h.address, 0) + h.data_month
    wallets = sorted(
        chain.balance(h.address) + sum(c.deposit - c.spent for c in h.channels.values())
        for h in active
    )
    sustaining = sum(
        1 for h in active if h.spend_month and earnings.get(h.address, 0) >= h.spend_month
    )
    pool = chain.balance(module_address(GRANT_POOL))
    grants = world.books.grants_paid
    bonded = chain.balance(module_address(BONDED_POOL))
    rewards = stt_income + prov_income + st_income + node_income + world.books.skill_paid + issued
    return MonthRow(
        month=month,
        day=day,
        height=chain.height,
        supply=supply,
        issued=issued,
        burned=burned,
        inflation_bps=issued * 365 * 10_000 // max(1, (supply - issued) * days),
        fees=chain.fees - world.month_start["fees"],
        base_price_per_mgas=chain.fee_for(1_000_000),
        staking_ratio=ratio(bonded, supply),
        community_pool=chain.balance(module_address(COMMUNITY_POOL)),
        # Only community spends pay the developers' account: what governance spent so far
        gov_spent=chain.balance(world.developers),
        grant_pool=pool,
        grants_paid=grants,
        grant_pool_months_left=str(pool // grants) if grants else "never",
        households=len(active),
        wallet_median=quantile(wallets, 1, 2),
        wallet_p10=quantile(wallets, 1, 10),
        households_bought=world.books.households_bought,
        bought=world.books.bought,
        self_sustaining=sustaining,
        stt_servers=stt_servers,
        stt_servers_refused=world.serve_refused,
        stt_server_income=stt_income,
        stt_server_cost=stt_cost,
        storage_servers=storage_servers,
        storage_server_income=st_income,
        storage_server_cost=st_cost,
        provider_income=prov_income,
        provider_cost=prov_cost,
        storage_node_income=node_income,
        storage_node_cost=node_cost,
        data_sellers=len(world.market.sellers),
        data_sales=world.market.sales_month,
        data_earned=world.market.paid_month,
        skill_royalties=world.books.skill_paid,
        rewards_paid=rewards,
        idle_rewards=idle,
        idle_share=ratio(idle, rewards) or "0.0000",
    )


def header() -> list[str]:
    return [f.name for f in fields(MonthRow)]


def to_csv(rows: list[MonthRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header())
    for row in rows:
        writer.writerow([str(v) for v in astuple(row)])
    return out.getvalue()


def write_csv(rows: list[MonthRow], path: Path) -> None:
    path.write_text(to_csv(rows))
