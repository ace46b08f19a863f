"""CometBFT's genesis.json, derived from ours (`voxpop.chain.genesis`)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

ED25519_PUBKEY_TYPE = "tendermint/PubKeyEd25519"


class GenesisError(ValueError):
    """Our genesis.json cannot be turned into CometBFT's."""


def validator_address(pub_key: bytes) -> bytes:
    """CometBFT's validator address: the first 20 bytes of sha256(Ed25519 public key)."""
    return hashlib.sha256(pub_key).digest()[:20]


def _pub_key_bytes(value: Any) -> bytes:
    """An Ed25519 public key given as CometBFT's {"type", "value"} object, hex, or base64."""
    if isinstance(value, dict):
        if value.get("type", ED25519_PUBKEY_TYPE) != ED25519_PUBKEY_TYPE:
            raise GenesisError(f"unsupported validator key type {value.get('type')!r}")
        value = value.get("value")
    if not isinstance(value, str):
        raise GenesisError(f"validator pub_key must be a string or object, not {value!r}")
    if re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raw = bytes.fromhex(value)
    else:
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError as exc:
            raise GenesisError(f"validator pub_key is neither hex nor base64: {value!r}") from exc
    if len(raw) != 32:
        raise GenesisError(f"an Ed25519 public key has 32 bytes, got {len(raw)}")
    return raw


def _rfc3339(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, str) and value:
        return value
    raise GenesisError(f"genesis_time must be an RFC 3339 string or Unix seconds, not {value!r}")


def cometbft_genesis(ours: Mapping[str, Any]) -> dict[str, Any]:
    """Derive CometBFT's genesis.json from ours (`voxpop.chain.genesis`).

    Ours is already in CometBFT's format; this normalises it so CometBFT accepts exactly what the
    solo node would run: the validator address is recomputed from the key, power written as a
    string, `app_hash` empty, `app_state` copied as-is, and missing `consensus_params` filled with
    `voxpop.chain.genesis.default_consensus_params()`. A validator `pub_key` may also be given as
    hex or base64 text.

    Raises GenesisError if a field is missing or malformed.
    """
    try:
        chain_id = ours["chain_id"]
        validators_in = ours["validators"]
    except KeyError as exc:
        raise GenesisError(f"genesis.json has no {exc.args[0]!r}") from exc
    if not isinstance(chain_id, str) or not chain_id:
        raise GenesisError("genesis chain_id must be a non-empty string")
    validators = []
    for i, v in enumerate(validators_in):
        key = _pub_key_bytes(v.get("pub_key"))
        try:
            power = int(v.get("power", 0))
        except (TypeError, ValueError) as exc:
            raise GenesisError(f"validator {i} power {v.get('power')!r} is not an integer") from exc
        if power <= 0:
            raise GenesisError(f"validator {i} has power {power}; it must be positive")
        validators.append(
            {
                "address": validator_address(key).hex().upper(),
                "pub_key": {"type": ED25519_PUBKEY_TYPE, "value": base64.b64encode(key).decode()},
                "power": str(power),
                "name": str(v.get("name", "")),
            }
        )
    consensus_params = ours.get("consensus_params")
    if not consensus_params:
        from voxpop.chain.genesis import default_consensus_params

        consensus_params = default_consensus_params()
    return {
        "genesis_time": _rfc3339(ours.get("genesis_time")),
        "chain_id": chain_id,
        "initial_height": str(int(ours.get("initial_height", 1))),
        "consensus_params": consensus_params,
        "validators": validators,
        "app_hash": "",
        "app_state": ours.get("app_state", {}),
    }
