"""The simulation's parameters: integers only, every one with a default, checked as a whole.

A params file is a JSON object naming any subset of the fields below; anything else is refused.
Money is in uvox (1 VOX = 1,000,000 uvox), shares in basis points (1/10,000), time in days or
seconds as named. `check_params` refuses a configuration that would break an invariant of the
model or of the chain (SimConfigError, whose `rule` says which).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.modules.distribution.state import DistributionParams
from voxpop.sim.errors import SimConfigError

VOX = 1_000_000
DAY = 86_400
BPS = 10_000
MAX_SHARD_BYTES = 1 << 30  # the storage module's default max_shard_size
PAYEE_CHANNELS = 1_024  # the channels module's limit of channels per payee


@dataclass(frozen=True, slots=True)
class SimParams:
    # --- the run ---------------------------------------------------------------------------------
    households: int = 1_000
    days: int = 365
    seed: int = 1
    # Chain time per simulated block: four hours (docs/economics.md, "Four hours a block")
    block_seconds: int = 14_400
    month_days: int = 30  # a report row per this many days
    # --- genesis -------------------------------------------------------------------------------
    validators: int = 4
    validator_self_bond: int = 200_000 * VOX
    delegators: int = 20  # token holders who delegate
    delegator_balance: int = 50_000 * VOX
    delegate_bps: int = 8_000  # of a delegator's balance, bonded in its first day
    exchange_balance: int = 10_000_000 * VOX  # sells VOX to households that must buy
    grant_pool: int = 1_000_000 * VOX
    grant_amount: int = 10 * VOX
    registrars: int = 2
    registrar_quota: int = 1_000  # claims per registrar per day
    onboarding_days: int = 30  # households join evenly over these first days
    annual_inflation_bps: int = 700
    community_tax_bps: int = 200
    gov_voting_days: int = 2
    # --- paid calls (off chain, settled through channels) --------------------------------------
    stt_calls_per_day: int = 20  # utterances a household's devices transcribe
    knowledge_calls_per_day: int = 10  # weather, knowledge, ... answers
    call_jitter_bps: int = 3_000  # a household-day's calls vary by up to +-30 %
    stt_price: int = 2_000  # uvox per call (per started 10 s of audio)
    knowledge_price: int = 1_000
    stt_providers: int = 10  # dedicated providers (each takes at most 1,024 channels)
    knowledge_providers: int = 10
    provider_stt_cost: int = 1_200  # a dedicated provider's stated cost per call
    provider_knowledge_cost: int = 600
    provider_stake: int = 1_000 * VOX
    services_min_stake: int = 1_000 * VOX  # the chain's services param
    channel_days: int = 30  # a channel deposit covers this many days of calls
    # Payees claim their vouchers this often, each on its own day of the period: a voucher is
    # cumulative, so one claim a month pays the same as four (docs/economics.md, "Four hours")
    claim_days: int = 30
    # --- households serving (opt in) -----------------------------------------------------------
    serve_stt_bps: int = 1_000  # households that opt in to serve STT
    household_stt_price: int = 1_500  # below the dedicated price: agents route to it first
    household_stt_capacity: int = 400  # calls a serving household can take per day
    household_stt_cost: int = 300  # electricity per call
    household_stt_stake: int = 5 * VOX  # what it bonds (refused if below services_min_stake)
    serve_storage_bps: int = 1_000  # households that opt in to serve storage
    household_storage_gib: int = 64
    household_storage_collateral: int = 5 * VOX
    # --- storage --------------------------------------------------------------------------------
    storage_nodes: int = 3  # dedicated
    storage_node_gib: int = 100_000
    storage_node_collateral: int = 10_000 * VOX
    storage_epoch_days: int = 7
    storage_price: int = 20_000  # uvox per GiB per epoch (a household offers the same)
    storage_cost: int = 8_000  # stated cost per GiB per epoch
    store_bps: int = 3_000  # households that keep a backup (voice samples, settings)
    store_gib: int = 1  # GiB of data each stores (before erasure coding)
    deal_k: int = 2
    deal_n: int = 3
    deal_epochs: int = 4  # a month of weekly epochs, renewed when it ends
    storage_leaf_bytes: int = 256
    storage_challenges: int = 8
    # --- skills and governance ------------------------------------------------------------------
    skill_creators: int = 10
    skill_uses_per_day: int = 5
    skill_fee: int = 100
    gov_spend_bps: int = 5_000  # of the community pool, proposed each month for developers
    # --- data sales (market and consent) -------------------------------------------------------
    sell_data_bps: int = 1_000  # of the households that keep a backup, those that sell from it
    data_buyers: int = 2  # each posts an offer a month for its sellers' objects
    data_price: int = 500_000  # uvox a buyer pays per object (a month's voice samples)
    data_buyer_balance: int = 1_000_000 * VOX
    privacy_nodes: int = 3  # reencrypt offers a grant names
    privacy_threshold: int = 2  # answers an access needs (m of the nodes)
    # --- what a household does when it runs short -------------------------------------------------
    buy_days: int = 30  # a household that must buy, buys this many days of calls

    def to_json(self) -> dict[str, int]:
        return asdict(self)

    @property
    def blocks_per_day(self) -> int:
        return DAY // self.block_seconds

    @property
    def total_blocks(self) -> int:
        return self.days * self.blocks_per_day


INT_FIELDS = {f.name for f in fields(SimParams)}


def load_params(path: Path | None, **overrides: int | None) -> SimParams:
    """Defaults, then the file's values, then non-None overrides (the CLI's options); checked.

    Raises SimConfigError (`params_file`, `unknown_param`, `param_type`, or an invariant).
    """
    values: dict[str, Any] = {}
    if path is not None:
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise SimConfigError("params_file", f"cannot read {path}: {exc}") from None
        if not isinstance(doc, dict):
            raise SimConfigError("params_file", f"{path} must hold a JSON object")
        values.update({k: v for k, v in doc.items() if not k.startswith("_")})
    values.update({k: v for k, v in overrides.items() if v is not None})
    return make_params(values)


def make_params(values: dict[str, Any]) -> SimParams:
    unknown = sorted(set(values) - INT_FIELDS)
    if unknown:
        raise SimConfigError("unknown_param", f"no such parameters: {', '.join(unknown)}")
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise SimConfigError("param_type", f"{name} must be an integer, not {value!r}")
    params = replace(SimParams(), **values)
    check_params(params)
    return params


def _require(ok: bool, rule: str, message: str) -> None:
    if not ok:
        raise SimConfigError(rule, message)


def check_params(p: SimParams) -> None:
    """Refuse what would break an invariant; the error's rule names it."""
    for f in fields(p):
        value = getattr(p, f.name)
        _require(value >= 0, "non_negative", f"{f.name} must not be negative ({value})")
        if f.name.endswith("_bps"):
            _require(value <= BPS, "bps_range", f"{f.name} must be 0..10000 ({value})")
    _require(1 <= p.households <= 1_000_000, "households_range", "households must be 1..1000000")
    _require(1 <= p.days <= 3_650, "days_range", "days must be 1..3650")
    # Verify whole days of blocks: the model acts per day and per block
    _require(
        60 <= p.block_seconds <= DAY // 2 and DAY % p.block_seconds == 0,
        "block_seconds",
        "block_seconds must divide a day (86400), be at least 60 and at most half a day (a "
        "month's proposal and its votes go in a day's first two blocks)",
    )
    # Verify a month's data offer expires after its first day and within the market's 90 days
    _require(
        2 <= p.month_days <= 90, "month_days", "month_days must be 2..90 (a data offer's term)"
    )
    _require(p.validators >= 1, "validators", "at least one validator is needed to make blocks")
    _require(
        p.validator_self_bond >= VOX,
        "validator_self_bond",
        "a validator's self bond must be at least 1 VOX (power 1)",
    )
    _require(
        p.registrars >= 1 and p.registrar_quota >= 1,
        "registrars",
        "at least one registrar with a quota of at least 1 is needed to onboard households",
    )
    _require(1 <= p.onboarding_days <= p.days, "onboarding_days", "onboarding_days must be 1..days")
    # Verify the registrars can onboard everyone in the onboarding window: else households would
    # wait outside the model
    per_day = -(-p.households // p.onboarding_days)
    _require(
        per_day <= p.registrars * p.registrar_quota,
        "registrar_capacity",
        f"{per_day} sign-ups a day exceed registrars x quota = {p.registrars * p.registrar_quota}",
    )
    _require(p.grant_amount >= 1, "grant_amount", "grant_amount must be at least 1 uvox")
    # Verify the issuance params are the chain's valid ones (its bounds, whatever they are now)
    try:
        DistributionParams.from_value(asdict(distribution_params(p)))
    except InvalidGenesisError as exc:
        raise SimConfigError("inflation_bounds", str(exc)) from None
    _require(p.gov_voting_days >= 1, "gov_voting_days", "gov_voting_days must be at least 1")
    for name in ("stt_price", "knowledge_price", "household_stt_price", "skill_fee"):
        _require(getattr(p, name) >= 1, "price_positive", f"{name} must be at least 1 uvox")
    _require(
        p.stt_providers >= 1 and p.knowledge_providers >= 1,
        "providers",
        "at least one dedicated STT and one knowledge provider must serve the households",
    )
    # Verify the dedicated providers can take every household's channel: the chain lists at most
    # 1,024 channels per payee (a household's server may take some, but need not exist)
    _require(
        min(p.stt_providers, p.knowledge_providers) * PAYEE_CHANNELS >= p.households,
        "payee_channels",
        f"{p.households} households need at least {-(-p.households // PAYEE_CHANNELS)} dedicated "
        "providers of each kind (a payee has at most 1024 channels)",
    )
    _require(p.skill_creators >= 1, "skill_creators", "at least one skill creator is needed")
    _require(
        p.provider_stake >= p.services_min_stake,
        "provider_stake",
        "a dedicated provider's stake must reach services_min_stake",
    )
    _require(p.services_min_stake >= 1, "services_min_stake", "services_min_stake must be >= 1")
    _require(
        1 <= p.channel_days <= 365 and 1 <= p.claim_days <= p.channel_days,
        "channel_days",
        "channel_days must be 1..365 and claim_days 1..channel_days",
    )
    _require(1 <= p.buy_days <= 365, "buy_days", "buy_days must be 1..365")
    _require(
        1 <= p.privacy_threshold <= p.privacy_nodes <= 16,
        "privacy_nodes",
        "an access needs 1 <= privacy_threshold <= privacy_nodes <= 16 (consent's max_nodes)",
    )
    _require(p.data_price >= 1, "price_positive", "data_price must be at least 1 uvox")
    _check_storage(p)


def _check_storage(p: SimParams) -> None:
    epoch_blocks = p.storage_epoch_days * p.blocks_per_day
    _require(
        p.storage_epoch_days >= 1 and epoch_blocks >= 4,
        "storage_epoch",
        "a storage epoch must be at least a day and 4 blocks (challenge, prove, judge)",
    )
    _require(
        2 <= p.deal_n <= 32 and 1 <= p.deal_k < p.deal_n,
        "deal_coding",
        "deals need 1 <= k < n <= 32",
    )
    _require(
        p.storage_nodes >= p.deal_n,
        "deal_providers",
        f"a deal places n={p.deal_n} shards on distinct providers; only {p.storage_nodes} "
        "dedicated storage nodes are guaranteed",
    )
    _require(1 <= p.deal_epochs <= 1_000, "deal_epochs", "deal_epochs must be 1..1000")
    leaf = p.storage_leaf_bytes
    _require(
        32 <= leaf <= 4_096 and leaf & (leaf - 1) == 0,
        "storage_leaf_bytes",
        "storage_leaf_bytes must be a power of two in 32..4096",
    )
    _require(1 <= p.storage_challenges <= 16, "storage_challenges", "must be 1..16")
    shard = shard_bytes(p)
    _require(
        p.store_gib >= 1 and shard <= MAX_SHARD_BYTES,
        "shard_size",
        f"store_gib / deal_k gives shards of {shard} bytes; the chain allows {MAX_SHARD_BYTES}",
    )
    _require(
        p.storage_price >= 1
        and min(p.household_storage_collateral, p.storage_node_collateral) >= 1,
        "storage_price",
        "storage_price and collateral must be at least 1 uvox",
    )
    _require(
        p.storage_node_gib * (1 << 30) >= p.households * p.store_gib * (1 << 30) // p.deal_k,
        "storage_supply",
        "dedicated storage nodes cannot hold one shard of every household's backup",
    )


def distribution_params(p: SimParams) -> DistributionParams:
    """The chain's issuance params with the sim's start inflation and community tax."""
    return replace(
        DistributionParams(),
        annual_inflation_bps=p.annual_inflation_bps,
        community_tax_bps=p.community_tax_bps,
    )


def shard_bytes(p: SimParams) -> int:
    """Bytes of each of a deal's shards: the backup over k, rounded up to a power of two leaves."""
    need = -(-p.store_gib * (1 << 30) // p.deal_k)
    size = p.storage_leaf_bytes
    while size < need:
        size *= 2
    return size
