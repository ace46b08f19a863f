"""A compromised registrar, removed by governance: the attacker's take is bounded by its quota
for the days until removal, the chain refuses the rest, and supply is conserved."""

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
    assert result.registrar_stake_lost == 0  # registrars post no bond on today's chain
    assert result.bond_to_deter == result.gained
