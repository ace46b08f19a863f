"""`voxpop query feemarket base-price`: the base gas price the next block charges, its floor and
the least fee a tx of the default gas may offer at it (docs/protocol/fees.md)."""

from __future__ import annotations

from typing import Any

from voxpop.chain.encoding import decode_canonical, decode_uint
from voxpop.chain.modules.feemarket.state import PRICE_SCALE, FeemarketParams, charge
from voxpop.cli.declare import QueryCommand
from voxpop.cli.options import StateQueryOptions
from voxpop.client import DEFAULT_SEND_GAS, VoxClient


def read_base_price(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    params_at = client.query("/feemarket/params", b"", height=opts.height, prove=opts.prove)
    base_at = client.query("/feemarket/base_price", b"", height=params_at.height, prove=opts.prove)
    params = (
        FeemarketParams.from_value(decode_canonical(params_at.value))
        if params_at.value
        else FeemarketParams()
    )
    stored = decode_uint(base_at.value) if base_at.value else params.min_base_price
    base = min(max(stored, params.min_base_price), params.max_base_price)
    gas = DEFAULT_SEND_GAS
    return {
        "base_price": base,
        "floor": params.min_base_price,
        "price_scale": PRICE_SCALE,
        "default_gas": gas,
        "base_charge": charge(gas, base),  # the least fee a tx of default_gas may offer
        "height": base_at.height,
        "verified": params_at.verified and base_at.verified,
    }


COMMANDS = (
    QueryCommand(
        module="feemarket",
        what="base-price",
        help="The base gas price the next block charges (uvox per gas x 10^12), its floor, and "
        "the least fee of a tx of the default gas (at --height; default: the latest).",
        read=read_base_price,
    ),
)
