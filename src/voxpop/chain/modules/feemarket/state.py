"""Fee market state: a base gas price that follows block fullness (EIP-1559's rule).

feemarket/params      -> CBOR map of FeemarketParams
feemarket/base_price  -> uint128: the base gas price the next block charges, in PRICE_SCALE units
                         per gas (absent: the floor)
feemarket/block       -> CBOR [gas, burn, tips] of the block being executed (deleted at its end;
                         never in committed state)
feemarket/burned      -> uint128: every uvox the fee market burned
feemarket/tips        -> uint128: every uvox of tips paid to proposers

A price is an integer: uvox per gas times PRICE_SCALE (10^12), so the default floor, 1 uvox per
1,000 gas (auth's minimum gas price), is 10^9. A tx pays `fee` for `gas_limit`; at base price `b`
its base charge is ceil(gas_limit * b / PRICE_SCALE). Of that, the part at the floor price goes to
the fee collector (validators and the community pool, as every fee did before the fee market) and
the part above it is burned; the rest of the fee (the tip) goes to the block's proposer.

The protocol's own bookkeeping here (the base price read by the ante, the block's tally) is not
metered: a tx's gas does not depend on the fee market.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, decode_uint, encode
from voxpop.chain.errors import FeeMarketParamsError
from voxpop.chain.kv import Branch, KVReader
from voxpop.chain.module_accounts import FEE_COLLECTOR, module_address
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.bank import state as bank
from voxpop.chain.modules.bounds import MAX_UINT64
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.staking import state as staking

PREFIX = b"feemarket/"
PARAMS_KEY = b"feemarket/params"
BASE_PRICE_KEY = b"feemarket/base_price"
BLOCK_KEY = b"feemarket/block"
BURNED_KEY = b"feemarket/burned"
TIPS_KEY = b"feemarket/tips"

FEE_COLLECTOR_ADDRESS = module_address(FEE_COLLECTOR)
PRICE_SCALE = 10**12  # price units per (uvox per gas)
MAX_DENOMINATOR = 10_000


@dataclass(frozen=True, slots=True)
class FeemarketParams:
    # The floor: 1 uvox per 1,000 gas, auth's minimum gas price (so an idle chain charges as before)
    min_base_price: int = 10**9
    # The ceiling: 10,000 uvox per gas (a 10M-gas tx then pays 10^11 uvox: far within 64 bits)
    max_base_price: int = 10**16
    # Target gas per block (sum of the gas limits of the txs that paid): half of auth's default
    # max_block_gas, as Ethereum's target is half its limit
    target_block_gas: int = 100_000_000
    # The rule's denominator: a full block raises the price by at most
    # (max_block_gas - target) / target / denominator (12.5 % at the defaults), an empty one
    # lowers it by 1/denominator
    change_denominator: int = 8

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> FeemarketParams:
        """Parse and check the params on their own; raise FeeMarketParamsError."""
        names = {f.name for f in fields(cls)}
        # Verify exactly the declared params, each an integer
        if set(value) != names:
            raise FeeMarketParamsError(f"feemarket params need exactly {sorted(names)}")
        for name, n in value.items():
            if type(n) is not int:
                raise FeeMarketParamsError(f"feemarket param {name} must be an integer")
        params = cls(**value)
        params.check_bounds()
        return params

    def check_bounds(self) -> None:
        # Verify a positive floor (a zero price could never grow by a share of itself)
        if not 1 <= self.min_base_price <= MAX_UINT64:
            raise FeeMarketParamsError(f"feemarket min_base_price must be in 1..{MAX_UINT64}")
        # Verify the floor is not above the ceiling
        if not self.min_base_price <= self.max_base_price <= MAX_UINT64:
            raise FeeMarketParamsError(
                f"feemarket max_base_price {self.max_base_price} must be at least min_base_price "
                f"{self.min_base_price} and at most {MAX_UINT64}"
            )
        if self.target_block_gas < 1:
            raise FeeMarketParamsError("feemarket target_block_gas must be positive")
        # Verify an empty block lowers the price by at most half (1 would drop it to the floor
        # in one block and let it swing floor-to-double-and-back)
        if not 2 <= self.change_denominator <= MAX_DENOMINATOR:
            raise FeeMarketParamsError(
                f"feemarket change_denominator must be in 2..{MAX_DENOMINATOR}"
            )

    def check_with(self, auth: AuthParams) -> None:
        """Raise FeeMarketParamsError unless these params fit auth's block and tx limits."""
        # Verify the target is below the block's gas (else the price could never rise)
        if self.target_block_gas >= auth.max_block_gas:
            raise FeeMarketParamsError(
                f"feemarket target_block_gas {self.target_block_gas} must be below auth "
                f"max_block_gas {auth.max_block_gas}"
            )
        # Verify a full block at most doubles the price (a larger step overshoots and oscillates)
        over = auth.max_block_gas - self.target_block_gas
        if over > self.target_block_gas * self.change_denominator:
            raise FeeMarketParamsError(
                f"feemarket: a full block ({auth.max_block_gas} gas) would more than double the "
                f"base price (target {self.target_block_gas}, denominator "
                f"{self.change_denominator}); raise the target or the denominator"
            )
        # Verify the base charge of the largest tx at the ceiling is a fee a tx can state
        if charge(auth.max_gas_per_tx, self.max_base_price) > MAX_UINT64:
            raise FeeMarketParamsError(
                "feemarket max_base_price: the base charge of max_gas_per_tx exceeds 64 bits"
            )


def next_base_price(
    base: int, gas: int, target: int, denominator: int, floor: int, ceiling: int
) -> int:
    """EIP-1559's rule: the next block's base price after a block that used `gas`.

    change = base * (gas - target) / target / denominator, at least one unit either way when the
    block is off target, clamped to [floor, ceiling].
    """
    if gas > target:
        base += max(base * (gas - target) // (target * denominator), 1)
    elif gas < target:
        base -= max(base * (target - gas) // (target * denominator), 1)
    return min(max(base, floor), ceiling)


def charge(gas_limit: int, price: int) -> int:
    """uvox for `gas_limit` gas at `price` (rounded up)."""
    return -(-gas_limit * price // PRICE_SCALE)


@dataclass(frozen=True, slots=True)
class Quote:
    """What a tx with `gas_limit` owes at the current base price, and how its fee splits."""

    base_price: int
    base_charge: int  # the least fee the tx may offer
    floor_charge: int  # the part of base_charge at the floor price: to the fee collector

    def burn(self) -> int:
        return self.base_charge - self.floor_charge

    def tip(self, fee: int) -> int:
        return fee - self.base_charge


def _int(raw: bytes | None) -> int:
    return decode_uint(raw) if raw else 0


def _uint(n: int) -> bytes:
    return n.to_bytes(16, "big")


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> FeemarketParams:
    return FeemarketParams.from_value(decode_state(raw))


def read_params(reader: KVReader) -> FeemarketParams:
    raw = reader.get(PARAMS_KEY)
    return decode_params(raw) if raw else FeemarketParams()


def set_params(ctx: Context, params: FeemarketParams) -> None:
    ctx.set(PARAMS_KEY, encode(asdict(params)))


def read_base_price(reader: KVReader, params: FeemarketParams | None = None) -> int:
    """The base price the next block charges: the stored one within the params' bounds."""
    params = params or read_params(reader)
    raw = reader.get(BASE_PRICE_KEY)
    stored = _int(raw) if raw else params.min_base_price
    return min(max(stored, params.min_base_price), params.max_base_price)


def quote(reader: KVReader, gas_limit: int) -> Quote:
    params = read_params(reader)
    base = read_base_price(reader, params)
    base_charge = charge(gas_limit, base)
    return Quote(base, base_charge, min(charge(gas_limit, params.min_base_price), base_charge))


# --- the block's tally (written unmetered by the ante, in blocks only) -------------------------


def read_tally(reader: KVReader) -> tuple[int, int, int]:
    raw = reader.get(BLOCK_KEY)
    if not raw:
        return 0, 0, 0
    gas, burn, tips = decode_state(raw)
    return int(gas), int(burn), int(tips)


def record_tx(store: Branch, gas_limit: int, burn: int, tip: int) -> None:
    """Add a paying tx to the block's tally (`store`: the tx's branch, written with its fee)."""
    gas, burned, tips = read_tally(store)
    store.set(BLOCK_KEY, encode([gas + gas_limit, burned + burn, tips + tip]))


def process_block(ctx: Context, max_block_gas: int) -> None:
    """At the end of a block: burn its base charges above the floor (out of the fee collector),
    pay its tips to its proposer's operator account, and move the base price by the block's gas.

    Tips of a block whose proposer is no known validator (a chain without staking) stay in the fee
    collector with the rest of the fees. Emits `feemarket` when anything moved.
    """
    params = read_params(ctx.store)
    gas, burn, tips = read_tally(ctx.store)
    if ctx.store.get(BLOCK_KEY) is not None:
        ctx.delete(BLOCK_KEY)
    if burn:
        bank.burn(ctx, FEE_COLLECTOR, burn)
        ctx.set(BURNED_KEY, _uint(read_uint(ctx.store, BURNED_KEY) + burn))
    operator = staking.operator_of(ctx, ctx.block.proposer) if ctx.block.proposer else None
    paid = tips if operator is not None else 0
    if paid and operator is not None:
        bank.move(ctx, FEE_COLLECTOR_ADDRESS, operator, paid)
        ctx.set(TIPS_KEY, _uint(read_uint(ctx.store, TIPS_KEY) + paid))
    raw = ctx.store.get(BASE_PRICE_KEY)
    base = read_base_price(ctx.store, params)
    following = next_base_price(
        base,
        min(gas, max_block_gas),
        params.target_block_gas,
        params.change_denominator,
        params.min_base_price,
        params.max_base_price,
    )
    # The floor is stored as no key: an idle chain's state is what it was before the fee market
    if following == params.min_base_price:
        if raw is not None:
            ctx.delete(BASE_PRICE_KEY)
    elif raw is None or _int(raw) != following:
        ctx.set(BASE_PRICE_KEY, _uint(following))
    if gas or burn or paid or following != base:
        ctx.emit(
            "feemarket",
            gas=str(gas),
            base_price=str(base),
            next_base_price=str(following),
            burned=str(burn),
            tips=str(paid),
            proposer=addr_text(operator) if operator is not None else "",
        )


def read_uint(reader: KVReader, key: bytes) -> int:
    return _int(reader.get(key))
