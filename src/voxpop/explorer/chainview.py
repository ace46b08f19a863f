"""The chain's current validators, proposals, service offers and storage providers, read from the
node (its queries, through the client SDK) into rows for the index's state tables.

Blocks say who proposed and signed them, not who the validators are nor how much they stake:
the indexer refreshes these from the chain every few blocks. Validators are the consensus
addresses seen as proposers plus the operators of every CreateValidator message indexed; their
uptime is the slashing module's own count (blocks missed within its signing window).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import httpx

from voxpop.chain.encoding import decode_state, decode_uint
from voxpop.chain.errors import ChainError
from voxpop.chain.modules.services import state as services_state
from voxpop.chain.modules.slashing import state as slashing_state
from voxpop.chain.modules.staking.state import decode_validator
from voxpop.client import VoxClient, VoxClientError
from voxpop.client.storage.chainview import fetch_providers
from voxpop.crypto.address import decode_address, encode_address

Row = dict[str, Any]
MAX_PROPOSALS = 1_000  # the newest kept on the page; the API's page size


def read_supply(client: VoxClient, height: int | None = None) -> int | None:
    """The chain's supply (uvox) after `height` (None: the latest), or None if not readable."""
    try:
        value = client.query("/bank/supply", height=height).value
    except VoxClientError:
        return None
    return decode_uint(value) if value else 0


def read_validators(
    client: VoxClient, consensus_addresses: Iterable[str], operators: Iterable[str], height: int
) -> list[Row]:
    """One row per validator known by its consensus address (hex) or operator (bech32)."""
    ops: dict[bytes, None] = {}
    for cons in consensus_addresses:
        value = client.query("/staking/validator_by_consensus", bytes.fromhex(cons)).value
        if value:
            ops[value] = None
    for operator in operators:
        ops[decode_address(operator)] = None
    window = slashing_state.SlashingParams().signed_blocks_window
    raw_params = client.query("/slashing/params").value
    if raw_params:
        window = slashing_state.decode_params(raw_params).signed_blocks_window
    rows = []
    for op in ops:
        raw = client.query("/staking/validator", op).value
        if not raw:
            continue
        val = decode_validator(raw)
        cons_raw = val.consensus_address
        info_raw = client.query("/slashing/signing_info", cons_raw).value
        counted, missed = 0, 0
        if info_raw:
            info = slashing_state.SigningInfo(**decode_state(info_raw))
            counted, missed = min(info.index, window), info.missed
        rows.append(
            {
                "consensus_address": cons_raw.hex(),
                "operator": encode_address(val.operator),
                "moniker": val.moniker,
                "details": val.details,
                "tokens": val.tokens,
                "status": val.status.name.lower(),
                "jailed": val.jailed,
                "commission_bps": val.commission_rate_bps,
                "window": counted,
                "missed": missed,
                "updated_height": height,
            }
        )
    return rows


def read_proposals(node_url: str, height: int) -> list[Row]:
    """Every proposal (up to MAX_PROPOSALS), as the node's /v1/gov/proposals lists them."""
    answer = httpx.get(f"{node_url}/v1/gov/proposals", params={"limit": MAX_PROPOSALS}, timeout=10)
    answer.raise_for_status()
    return [
        {
            "id": int(p["id"]),
            "title": str(p.get("title", "")),
            "status": str(p.get("status", "")),
            "proposer": str(p.get("proposer", "")),
            "detail": json.dumps(p),
            "updated_height": height,
        }
        for p in answer.json().get("proposals", [])
    ]


def read_offers(client: VoxClient, height: int) -> list[Row]:
    """Every active service offer, of every kind the chain lists."""
    raw = client.query("/services/params").value
    params = services_state.decode_params(raw) if raw else services_state.ServicesParams()
    kinds = params.kinds
    rows = []
    for kind in kinds:
        for item in client.query_list("/services/offers", kind.encode(), prove=False).items:
            try:
                offer = services_state.decode_offer(item.value)
            except (ChainError, KeyError, TypeError, ValueError):
                continue
            rows.append(
                {
                    "provider": encode_address(item.id),
                    "kind": kind,
                    "endpoint": offer.endpoint,
                    "price": offer.price,
                    "stake": offer.stake,
                    "languages": ",".join(offer.languages),
                    "registered_at": offer.registered_at,
                    "updated_height": height,
                }
            )
    return rows


def read_storage_providers(client: VoxClient, height: int) -> list[Row]:
    return [
        {
            "address": encode_address(p.address),
            "endpoint": p.endpoint,
            "capacity": p.capacity,
            "used": p.used,
            "price": p.price,
            "collateral": p.collateral,
            "faults": p.faults,
            "updated_height": height,
        }
        for p in fetch_providers(client)
    ]
