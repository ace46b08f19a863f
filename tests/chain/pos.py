"""Proof-of-stake test setup: two genesis validators with small windows and periods."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.chain.harness import Chain, key
from voxpop.chain.encoding import decode_state, decode_uint
from voxpop.chain.genesis import default_app_state
from voxpop.chain.module_accounts import module_address
from voxpop.chain.modules.distribution.state import DistributionParams
from voxpop.chain.modules.slashing.state import SigningInfo, SlashingParams
from voxpop.chain.modules.staking.state import StakingParams, Validator, consensus_address
from voxpop.crypto.keys import PrivateKey

OP1, OP2, OP3 = key(201), key(202), key(203)  # operators (accounts)
CONS1, CONS2, CONS3 = key(301), key(302), key(303)  # consensus keys
DELEGATOR, DELEGATOR2 = key(401), key(402)
SELF_BOND = 100_000_000  # power 100
FUNDS = 1_000_000_000
UNBONDING = 100
WINDOW = 10
JAIL = 60
STAKING = StakingParams(
    unbonding_time_seconds=UNBONDING, max_validators=10, min_self_bond=1_000_000
)
SLASHING = SlashingParams(
    signed_blocks_window=WINDOW, min_signed_per_window_bps=5_000, downtime_jail_seconds=JAIL
)


def addr(k: PrivateKey) -> bytes:
    return k.public_key.address


def cons(k: PrivateKey) -> bytes:
    return consensus_address(k.public_key.raw)


def start(
    path: Path,
    *,
    distribution: DistributionParams | None = None,
    slashing: SlashingParams = SLASHING,
    **extra: Any,
) -> Chain:
    accounts = [OP1, OP2, OP3, DELEGATOR, DELEGATOR2]
    state = default_app_state(
        [(addr(k), FUNDS) for k in accounts],
        validators=[
            (addr(OP1), CONS1.public_key.raw, SELF_BOND),
            (addr(OP2), CONS2.public_key.raw, SELF_BOND),
        ],
        staking=STAKING,
        slashing=slashing,
        distribution=distribution,
        **extra,
    )
    return Chain.start(path, app_state=state)


def validator(chain: Chain, operator: PrivateKey | bytes) -> Validator:
    a = addr(operator) if isinstance(operator, PrivateKey) else operator
    return Validator.from_value(decode_state(chain.query("/staking/validator", a)))


def shares(chain: Chain, operator: PrivateKey, delegator: PrivateKey) -> int:
    raw = chain.query("/staking/delegation", addr(operator) + addr(delegator))
    return decode_uint(raw) if raw else 0


def signing_info(chain: Chain, consensus: PrivateKey) -> SigningInfo:
    return SigningInfo(**decode_state(chain.query("/slashing/signing_info", cons(consensus))))


def uint(chain: Chain, path: str, data: bytes = b"") -> int:
    raw = chain.query(path, data)
    return decode_uint(raw) if raw else 0


def pool(chain: Chain, name: str) -> int:
    return chain.balance(module_address(name))


def create_msg(
    op: PrivateKey, consensus: PrivateKey, self_bond: int = SELF_BOND, **kw: Any
) -> tuple[str, dict[str, Any]]:
    value = {
        "operator": addr(op),
        "consensus_pub_key": consensus.public_key.raw,
        "self_bond": self_bond,
        "commission_rate_bps": 500,
        "max_commission_rate_bps": 2_000,
        "max_commission_change_bps": 100,
        "moniker": "v",
        "details": "",
    }
    value.update(kw)
    return "staking/CreateValidator", value


def delegate_msg(d: PrivateKey, v: PrivateKey, amount: int) -> tuple[str, dict[str, Any]]:
    return "staking/Delegate", {"delegator": addr(d), "validator": addr(v), "amount": amount}


def undelegate_msg(d: PrivateKey, v: PrivateKey, amount: int) -> tuple[str, dict[str, Any]]:
    return "staking/Undelegate", {"delegator": addr(d), "validator": addr(v), "amount": amount}


def redelegate_msg(
    d: PrivateKey, src: PrivateKey, dst: PrivateKey, amount: int
) -> tuple[str, dict[str, Any]]:
    return "staking/Redelegate", {
        "delegator": addr(d),
        "src_validator": addr(src),
        "dst_validator": addr(dst),
        "amount": amount,
    }


def claim_msg(d: PrivateKey, v: PrivateKey) -> tuple[str, dict[str, Any]]:
    return "distribution/ClaimRewards", {"delegator": addr(d), "validator": addr(v)}
