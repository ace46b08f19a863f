"""Item 4 of issue 19: what a sybil attack on the sign-up grant gains, on the real chain.

A registrar turns bad (compromised, or bribed): it attests as many made-up identities as its
daily quota lets, and the attacker claims a grant on a fresh account for each. Governance notices
after `detection_days`, a validator proposes `gov/SetRegistrar` with an empty name (removal) and
`forfeit_bond`, the validators vote yes, and the removal applies when the voting period ends.
From then on the chain refuses the registrar's attestations (`unknown_registrar`), and its bond
(posted at genesis, grant's `registrar_bond`) has moved to the grant pool. Every claim, the
proposal and the votes are real txs; the run counts what the attacker got and for how long, what
the registrar lost, and the bond that would have made the attack a loss: at least what the
attacker takes before removal.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from voxpop.chain.encoding import decode_uint
from voxpop.chain.genesis import default_app_state
from voxpop.chain.module_accounts import GRANT_POOL, module_address
from voxpop.chain.modules.gov.module import GovModule
from voxpop.chain.modules.gov.state import GovParams
from voxpop.chain.modules.grant.state import GrantParams, attestation_sign_bytes, bond_key
from voxpop.crypto.keys import PrivateKey
from voxpop.sim.actors import actor_key
from voxpop.sim.chain import CHAIN_ID, PendingTx, SimChain
from voxpop.sim.errors import SimConfigError, SimInvariantError
from voxpop.sim.params import DAY, VOX
from voxpop.sim.run import scratch_dir

UNKNOWN_REGISTRAR = 80
REGISTRAR_QUOTA = 85


@dataclass(frozen=True, slots=True)
class SybilParams:
    seed: int = 1
    grant_amount: int = 10 * VOX
    registrar_quota: int = 200  # the chain's default
    registrar_bond: int = GrantParams().registrar_bond  # the chain's default: 8,000 VOX
    grant_pool: int = 1_000_000 * VOX
    detection_days: int = 1  # from the first fake claim to the removal proposal
    voting_days: int = 2
    block_seconds: int = 3_600
    identity_cost: int = 500_000  # what one made-up identity costs the attacker through an honest
    # registrar (a verified phone number or a device key: ~0.5 VOX at the reference price)

    def check(self) -> None:
        if self.registrar_quota < 1 or self.grant_amount < 1 or self.registrar_bond < 0:
            raise SimConfigError(
                "registrars", "registrar_quota and grant_amount must be >= 1, the bond >= 0"
            )
        if self.detection_days < 0 or self.voting_days < 1:
            raise SimConfigError("gov_voting_days", "detection >= 0 days, voting >= 1 day")
        if DAY % self.block_seconds or self.block_seconds < 60:
            raise SimConfigError("block_seconds", "block_seconds must divide a day, >= 60")


@dataclass(frozen=True, slots=True)
class SybilResult:
    claims: int  # grants the attacker got
    gained: int  # uvox: the attacker's take
    refused_quota: int  # claims refused by the daily quota
    refused_removed: int  # claims refused once the registrar was removed
    days_open: int  # days from the first claim to the removal
    registrar_bond_lost: int  # uvox: the bad registrar's bond, forfeited to the pool
    pool_net_loss: int  # uvox the pool is down: the take less the forfeited bond (< 0: up)
    bond_to_deter: int  # the bond a registrar must post to make this a loss
    honest_gain_per_identity: int  # grant - identity cost, through an honest registrar
    pool_share_bps: int  # of the grant pool taken by the claims (before the forfeiture)

    def lines(self) -> list[str]:
        return [f"{k}={getattr(self, k)}" for k in self.__dataclass_fields__]


def run_sybil(p: SybilParams) -> SybilResult:
    p.check()
    validator = actor_key(p.seed, "validator", 0)
    consensus = actor_key(p.seed, "consensus", 0)
    bad = actor_key(p.seed, "registrar-bad", 0)
    honest = actor_key(p.seed, "registrar", 0)
    bond = 1_000_000 * VOX
    grant = GrantParams(
        amount=p.grant_amount, registrar_quota=p.registrar_quota, registrar_bond=p.registrar_bond
    )
    # Both registrars bonded at genesis with registrar_bond
    state = default_app_state(
        [(validator.public_key.address, bond + 10_000 * VOX)],
        grant_pool=p.grant_pool,
        registrars=[(honest.public_key.raw, "honest"), (bad.public_key.raw, "compromised")],
        validators=[(validator.public_key.address, consensus.public_key.raw, bond)],
        grant=grant,
    )
    gov = GovModule().default_genesis()
    gov["params"] = {**gov["params"], "voting_period_seconds": p.voting_days * DAY}
    state["gov"] = gov
    per_day = DAY // p.block_seconds
    claims = refused_quota = refused_removed = n = 0
    removal_day: int | None = None
    with tempfile.TemporaryDirectory(prefix="voxpop-sybil-", dir=scratch_dir()) as tmp:
        chain = SimChain.start(Path(tmp) / "state", state, [consensus.public_key.raw])
        try:
            day = 0
            while removal_day is None or day <= removal_day:
                for hour in range(per_day):
                    txs: list[PendingTx] = []
                    if day == p.detection_days and hour == 0:
                        txs.append(_propose_removal(chain, validator, bad.public_key.raw))
                    if day == p.detection_days and hour == 1:
                        msg = {"voter": validator.public_key.address, "proposal_id": 1, "option": 1}
                        txs.append(chain.tx(validator, [("gov/Vote", msg)], 300_000))
                    # The attacker tries a day's quota (and a few more) spread over the day
                    for _ in range(-(-(p.registrar_quota + 10) // per_day)):
                        txs.append(_fake_claim(chain, p, bad, n))
                        n += 1
                    # Block times from genesis on: a day here is a grant epoch
                    result = chain.block(txs, p.block_seconds if chain.height else 0)
                    for tx, res in zip(txs, result.results, strict=True):
                        if not tx.may_fail:
                            continue
                        if res.code == 0:
                            claims += 1
                        elif res.code == REGISTRAR_QUOTA:
                            refused_quota += 1
                        elif res.code == UNKNOWN_REGISTRAR:
                            refused_removed += 1
                            if removal_day is None:
                                removal_day = day
                        else:
                            raise SimConfigError(
                                "sybil", f"unexpected refusal {res.code}: {res.log}"
                            )
                day += 1
            pool_left = chain.balance(module_address(GRANT_POOL))
            bond_left = chain.app.committed.get(bond_key(bad.public_key.raw))
            chain.check_supply(full=True)
        finally:
            chain.close()
    gained = claims * p.grant_amount
    lost = p.registrar_bond - (decode_uint(bond_left) if bond_left else 0)
    # Verify the pool paid the claims and got the bond: nothing else moved it
    if p.grant_pool - pool_left != gained - lost:
        raise SimInvariantError(f"the grant pool moved {p.grant_pool - pool_left} uvox")
    return SybilResult(
        claims=claims,
        gained=gained,
        refused_quota=refused_quota,
        refused_removed=refused_removed,
        days_open=removal_day or 0,
        registrar_bond_lost=lost,
        pool_net_loss=gained - lost,
        bond_to_deter=gained,
        honest_gain_per_identity=p.grant_amount - p.identity_cost,
        pool_share_bps=gained * 10_000 // p.grant_pool,
    )


def _fake_claim(chain: SimChain, p: SybilParams, registrar: PrivateKey, n: int) -> PendingTx:
    key = actor_key(p.seed, "sybil", n)
    address = key.public_key.address
    identity = hashlib.sha256(b"voxpop-sim/fake-identity" + n.to_bytes(8, "big")).digest()
    expiry = chain.time + DAY
    msg = {
        "claimant": address,
        "registrar": registrar.public_key.raw,
        "identity_hash": identity,
        "expiry": expiry,
        "signature": registrar.sign(attestation_sign_bytes(CHAIN_ID, address, identity, expiry)),
    }
    tx = chain.tx(key, [("grant/Claim", msg)], 50_000, free=True)
    tx.may_fail = True
    return tx


def _propose_removal(chain: SimChain, proposer: PrivateKey, registrar: bytes) -> PendingTx:
    address = proposer.public_key.address
    msg = {
        "proposer": address,
        "title": "remove a compromised registrar",
        "summary": "it attested made-up identities: remove it and forfeit its bond to the pool",
        "actions": [
            {
                "type": "gov/SetRegistrar",
                "value": {"pub_key": registrar, "name": "", "forfeit_bond": True},
            }
        ],
        "deposit": GovParams().min_deposit,
    }
    return chain.tx(proposer, [("gov/SubmitProposal", msg)], 1_000_000)
