"""genesis.json: CometBFT's own genesis format, so the solo node and CometBFT read the same file.

{"genesis_time": RFC 3339, "chain_id": text, "initial_height": "1",
 "consensus_params": {...}, "validators": [{"address", "pub_key": {"type", "value"}, "power",
 "name"}], "app_hash": "", "app_state": {"auth": ..., "bank": ..., "grant": ...}}
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from voxpop.chain.abci import ValidatorUpdate
from voxpop.chain.context import BlockInfo, Context
from voxpop.chain.errors import ChainError, InvalidGenesisError
from voxpop.chain.gas import InfiniteGasMeter
from voxpop.chain.kv import Branch
from voxpop.chain.module import Module
from voxpop.chain.module_accounts import GRANT_BONDS, GRANT_POOL, module_address
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.bank.state import BankParams
from voxpop.chain.modules.bounds import MAX_INT64
from voxpop.chain.modules.distribution.state import DistributionParams
from voxpop.chain.modules.grant.state import GrantParams
from voxpop.chain.modules.slashing.state import SlashingParams
from voxpop.chain.modules.staking.state import POWER_REDUCTION, StakingParams
from voxpop.chain.registry import default_modules
from voxpop.crypto.address import encode_address

ED25519_TYPE = "tendermint/PubKeyEd25519"
UVOX_PER_VOX = 1_000_000
MAX_TOTAL_POWER = MAX_INT64 // 8  # CometBFT's MaxTotalVotingPower
MAX_INITIAL_HEIGHT = 1 << 62  # heights are int64 in CometBFT; leave room to count up


@dataclass(frozen=True, slots=True)
class GenesisValidator:
    pub_key: bytes
    power: int
    name: str = ""

    @property
    def address(self) -> bytes:
        # CometBFT's validator address: the first 20 bytes of sha256(pubkey)
        return hashlib.sha256(self.pub_key).digest()[:20]


@dataclass(frozen=True, slots=True)
class Genesis:
    chain_id: str
    genesis_time_unix: int
    initial_height: int
    validators: tuple[GenesisValidator, ...]
    app_state: dict[str, Any]
    consensus_params: dict[str, Any]

    def app_state_bytes(self) -> bytes:
        return json.dumps(self.app_state, sort_keys=True, separators=(",", ":")).encode()

    @property
    def vote_extensions_enable_height(self) -> int:
        """consensus_params.abci.vote_extensions_enable_height (0, the default: off)."""
        try:
            return int(
                self.consensus_params.get("abci", {}).get("vote_extensions_enable_height", 0)
            )
        except (AttributeError, TypeError, ValueError):
            raise InvalidGenesisError("vote_extensions_enable_height must be an integer") from None

    def validator_updates(self) -> tuple[ValidatorUpdate, ...]:
        return tuple(ValidatorUpdate(v.pub_key, v.power) for v in self.validators)

    def to_json(self) -> dict[str, Any]:
        return {
            "genesis_time": format_time(self.genesis_time_unix),
            "chain_id": self.chain_id,
            "initial_height": str(self.initial_height),
            "consensus_params": self.consensus_params,
            "validators": [
                {
                    "address": v.address.hex().upper(),
                    "pub_key": {
                        "type": ED25519_TYPE,
                        "value": base64.b64encode(v.pub_key).decode(),
                    },
                    "power": str(v.power),
                    "name": v.name,
                }
                for v in self.validators
            ],
            "app_hash": "",
            "app_state": self.app_state,
        }

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
        tmp.replace(path)


def format_time(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%S.000000000Z")


def parse_time(text: str) -> int:
    """RFC 3339 (CometBFT writes nanoseconds, which datetime cannot parse) to unix seconds."""
    try:
        head = text.rstrip("Z").split(".")[0]
        return int(datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp())
    except ValueError:
        raise InvalidGenesisError(f"genesis_time {text!r} is not RFC 3339") from None


def default_consensus_params() -> dict[str, Any]:
    return {
        "block": {"max_bytes": str(8 * 1024 * 1024), "max_gas": "-1"},
        "evidence": {
            "max_age_num_blocks": "100000",
            "max_age_duration": "172800000000000",
            "max_bytes": "1048576",
        },
        "validator": {"pub_key_types": ["ed25519"]},
        "version": {"app": "1"},
        # From height 1 the validators' votes carry the randomness beacon's VRF proofs
        # (voxpop.chain.modules.beacon); the seed moves from block 2 on
        "abci": {"vote_extensions_enable_height": "1"},
    }


def default_app_state(
    balances: list[tuple[bytes, int]],
    *,
    grant_pool: int = 1_000_000 * UVOX_PER_VOX,
    registrars: list[tuple[bytes, str]] | None = None,
    validators: list[tuple[bytes, bytes, int]] | None = None,
    commission_rate_bps: int = 1_000,
    staking: StakingParams | None = None,
    distribution: DistributionParams | None = None,
    slashing: SlashingParams | None = None,
    grant: GrantParams | None = None,
) -> dict[str, Any]:
    """App state with the given funded accounts, a funded grant pool and default parameters.

    `registrars` are (Ed25519 public key, name): each is listed and bonded with the grant
    params' `registrar_bond`, held by the `grant_bonds` account (funded here with their sum,
    as the grant pool is), so its attestations pay from the first block.

    `validators` are (operator address, Ed25519 consensus public key, self_bond uvox): each
    operator bonds `self_bond` out of its genesis balance (so it must be funded in `balances`),
    and becomes a bonded validator of power `self_bond // 1_000_000`.
    """
    entries = [(addr, amount) for addr, amount in balances if amount > 0]
    staking_validators = [
        {
            "operator": encode_address(operator),
            "consensus_pub_key": pub_key.hex(),
            "self_bond": self_bond,
            "commission_rate_bps": commission_rate_bps,
            "max_commission_rate_bps": max(2_000, commission_rate_bps),
            "max_commission_change_bps": 100,
            "moniker": f"validator{i}",
            "details": "",
        }
        for i, (operator, pub_key, self_bond) in enumerate(validators or [])
    ]
    grant_params = grant or GrantParams()
    bonded = [(pk, name, grant_params.registrar_bond) for pk, name in registrars or []]
    if grant_pool:
        entries.append((module_address(GRANT_POOL), grant_pool))
    if sum(bond for _, _, bond in bonded):
        entries.append((module_address(GRANT_BONDS), sum(bond for _, _, bond in bonded)))
    return {
        "auth": {"params": AuthParams().to_value()},
        "bank": {
            "params": {
                "send_enabled": BankParams().send_enabled,
                "max_multisend_outputs": BankParams().max_multisend_outputs,
            },
            "balances": [{"address": encode_address(a), "amount": n} for a, n in sorted(entries)],
        },
        "grant": {
            "params": asdict(grant_params),
            "registrars": [
                {"pub_key": pk.hex(), "name": name, "bond": bond} for pk, name, bond in bonded
            ],
            "bonds": [],
        },
        "staking": {
            "params": asdict(staking or StakingParams()),
            "validators": staking_validators,
            "delegations": [],
        },
        "distribution": {"params": asdict(distribution or DistributionParams())},
        "slashing": {"params": asdict(slashing or SlashingParams())},
    }


def genesis_validator_power(self_bond: int) -> int:
    """The CometBFT power of a validator with this stake."""
    return self_bond // POWER_REDUCTION


def load_genesis(path: Path) -> Genesis:
    """Read and check genesis.json; raises InvalidGenesisError with the reason."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidGenesisError(f"cannot read {path}: {exc}") from None
    return genesis_from_json(doc)


def genesis_from_json(doc: Any) -> Genesis:
    if not isinstance(doc, dict):
        raise InvalidGenesisError("genesis must be a JSON object")
    try:
        chain_id = doc["chain_id"]
        validators = []
        for v in doc.get("validators", []):
            if v["pub_key"]["type"] != ED25519_TYPE:
                raise InvalidGenesisError("validators must have Ed25519 keys")
            pub = base64.b64decode(v["pub_key"]["value"], validate=True)
            if len(pub) != 32:
                raise InvalidGenesisError("validator pub_key must be 32 bytes")
            validators.append(GenesisValidator(pub, int(v["power"]), v.get("name", "")))
        initial_height = int(doc.get("initial_height", "1"))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidGenesisError(f"malformed genesis: {exc!r}") from None
    if not isinstance(chain_id, str) or not 0 < len(chain_id) <= 50:
        raise InvalidGenesisError("chain_id must be text of 1 to 50 characters")
    if not 1 <= initial_height <= MAX_INITIAL_HEIGHT:
        raise InvalidGenesisError(f"initial_height must be in 1..{MAX_INITIAL_HEIGHT}")
    # Verify powers CometBFT accepts, and each key once
    if any(v.power < 1 for v in validators) or sum(v.power for v in validators) > MAX_TOTAL_POWER:
        raise InvalidGenesisError(f"validator powers must be positive, {MAX_TOTAL_POWER} in all")
    if len({v.pub_key for v in validators}) != len(validators):
        raise InvalidGenesisError("a validator key is listed twice")
    genesis_time = parse_time(doc.get("genesis_time", "1970-01-01T00:00:00Z"))
    # Verify block times (and times computed from them) can be written as unsigned keys
    if genesis_time < 0:
        raise InvalidGenesisError("genesis_time must not be before 1970-01-01T00:00:00Z")
    app_state = doc.get("app_state", {})
    if not isinstance(app_state, dict):
        raise InvalidGenesisError("app_state must be an object")
    return Genesis(
        chain_id=chain_id,
        genesis_time_unix=genesis_time,
        initial_height=initial_height,
        validators=tuple(validators),
        app_state=app_state,
        consensus_params=doc.get("consensus_params") or default_consensus_params(),
    )


class _EmptyState:
    """The state before genesis: nothing."""

    def get(self, key: bytes) -> bytes | None:
        return None

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return iter(())


def validate_genesis(genesis: Genesis, modules: Sequence[Module] | None = None) -> None:
    """Run every module's genesis on scratch state, as init_chain will, without a store.

    Catches at once what would otherwise stop the chain later: params out of their bounds, an
    issuance that would overflow the supply, unfunded genesis validators. Raises
    InvalidGenesisError with the reason.
    """
    mods = default_modules() if modules is None else modules
    block = BlockInfo(genesis.chain_id, genesis.initial_height, genesis.genesis_time_unix)
    ctx = Context(block, Branch(_EmptyState()), InfiniteGasMeter(), AuthParams().gas)
    init_genesis_state(mods, ctx, genesis.app_state)


def init_genesis_state(modules: Sequence[Module], ctx: Context, app_state: Any) -> None:
    """Every module's genesis (its part of `app_state`, or its default) into `ctx`, in order:
    what init_chain does, and what validate_genesis does on scratch state.

    Raises InvalidGenesisError, whatever is wrong with `app_state`.
    """
    if not isinstance(app_state, dict):
        raise InvalidGenesisError("app_state must be a JSON object")
    unknown = set(app_state) - {m.name for m in modules}
    if unknown:
        raise InvalidGenesisError(f"app_state has unknown modules {sorted(unknown)}")
    try:
        for module in modules:
            data = app_state.get(module.name, module.default_genesis())
            if not isinstance(data, dict):
                raise InvalidGenesisError(f"app_state.{module.name} must be an object")
            module.init_genesis(ctx, data)
    except InvalidGenesisError:
        raise
    except ChainError as exc:
        raise InvalidGenesisError(f"app_state: {exc.message}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidGenesisError(f"app_state is malformed: {type(exc).__name__}") from None
