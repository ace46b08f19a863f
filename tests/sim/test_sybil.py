"""A compromised registrar, removed by governance with its bond forfeited: the attacker's take is
bounded by its quota for the days until removal, the chain refuses the rest, the registrar loses
its bond to the pool, and supply is conserved."""

from __future__ import annotations

from voxpop.sim.sybil import SybilParams, run_sybil


def test_compromised_registrar_bounded_by_quota_until_removal() -> None:
    p = SybilParams(registrar_quota=20, detection_days=1, voting_days=1)
    result = run_sybil(p)
    # Verify removal came at detection + voting, and the take is quota x days open
    assert result.days_open == p.detection_days + p.voting_days
    # (the removal applies at the end of the block its vote ends in: that block's claims pass)
    assert p.registrar_quota * result.days_open <= result.claims
    assert result.claims <= p.registrar_quota * (result.days_open + 1)
    assert result.gained == result.claims * p.grant_amount
    assert result.refused_quota > 0 and result.refused_removed > 0
    assert result.registrar_bond_lost == p.registrar_bond  # all of it, to the pool
    assert result.pool_net_loss == result.gained - p.registrar_bond
    assert result.bond_to_deter == result.gained


def test_default_bond_exceeds_the_take_at_the_default_quota() -> None:
    """The chain's defaults (quota 200, bond 8,000 VOX, a day to notice, two to vote): the bad
    registrar loses more than the attacker takes, so the pool ends up ahead."""
    p = SybilParams()
    result = run_sybil(p)
    assert result.registrar_bond_lost == p.registrar_bond == 8_000 * 1_000_000
    assert 0 < result.gained < result.registrar_bond_lost
    assert result.pool_net_loss < 0


def test_without_a_bond_the_registrar_loses_nothing() -> None:
    p = SybilParams(registrar_quota=20, detection_days=0, voting_days=1, registrar_bond=0)
    result = run_sybil(p)
    assert result.registrar_bond_lost == 0
    assert result.pool_net_loss == result.gained > 0
