"""Bank state: balances in uvox (1 VOX = 1,000,000 uvox) and the total supply.

bank/bal/<addr 20>   -> uint128 big-endian; absent means zero (a zero balance is deleted)
bank/supply          -> uint128 big-endian
bank/genesis_supply  -> uint128: the supply genesis created
bank/minted          -> uint128: every uvox minted since genesis
bank/burned          -> uint128: every uvox burned since genesis
bank/params          -> canonical CBOR map
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, decode_uint, encode, encode_uint
from voxpop.chain.errors import (
    BlockedRecipientError,
    InsufficientFundsError,
    InvalidGenesisError,
    ModulePermissionError,
    SupplyOverflowError,
)
from voxpop.chain.kv import KVReader
from voxpop.chain.module import MAX_AMOUNT
from voxpop.chain.module_accounts import (
    BONDED_POOL,
    CHANNELS,
    DISTRIBUTION,
    GOV,
    GRANT_BONDS,
    MINT,
    NOT_BONDED_POOL,
    SERVICES,
    STORAGE,
    Permission,
    has_permission,
    module_address,
)

PREFIX = b"bank/"
BALANCE_PREFIX = b"bank/bal/"
SUPPLY_KEY = b"bank/supply"
PARAMS_KEY = b"bank/params"
GENESIS_SUPPLY_KEY = b"bank/genesis_supply"
MINTED_KEY = b"bank/minted"
BURNED_KEY = b"bank/burned"
# Accounts whose balance other modules account for exactly: only `move` by those modules pays them
BLOCKED_RECIPIENTS = frozenset(
    module_address(n)
    for n in (
        MINT,
        BONDED_POOL,
        NOT_BONDED_POOL,
        DISTRIBUTION,
        CHANNELS,
        SERVICES,
        GOV,
        STORAGE,
        GRANT_BONDS,
    )
)


@dataclass(frozen=True, slots=True)
class BankParams:
    send_enabled: bool = True
    max_multisend_outputs: int = 100

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> BankParams:
        try:
            params = cls(**value)
        except TypeError as exc:
            raise InvalidGenesisError(f"bank params: {exc}") from None
        if (
            not isinstance(params.send_enabled, bool)
            or type(params.max_multisend_outputs) is not int
        ):
            raise InvalidGenesisError("bank params have the wrong types")
        if not 1 <= params.max_multisend_outputs <= 10_000:
            raise InvalidGenesisError("bank max_multisend_outputs must be in 1..10000")
        return params


def balance_key(address: bytes) -> bytes:
    return BALANCE_PREFIX + address


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> BankParams:
    return BankParams.from_value(decode_state(raw))


def get_params(ctx: Context) -> BankParams:
    raw = ctx.get(PARAMS_KEY)
    return decode_params(raw) if raw else BankParams()


def set_params(ctx: Context, params: BankParams) -> None:
    ctx.set(PARAMS_KEY, encode(asdict(params)))


def get_balance(ctx: Context, address: bytes) -> int:
    raw = ctx.get(balance_key(address))
    return decode_uint(raw) if raw else 0


def _set_balance(ctx: Context, address: bytes, amount: int) -> None:
    if amount == 0:
        ctx.delete(balance_key(address))
    else:
        ctx.set(balance_key(address), encode_uint(amount))


def increase_balance(ctx: Context, address: bytes, amount: int) -> None:
    # Supply bounds every balance, so a balance cannot exceed 64 bits; no overflow check needed here
    _set_balance(ctx, address, get_balance(ctx, address) + amount)


def decrease_balance(ctx: Context, address: bytes, amount: int) -> None:
    balance = get_balance(ctx, address)
    # Verify the account holds enough
    if balance < amount:
        raise InsufficientFundsError(f"balance {balance} uvox is less than {amount} uvox")
    _set_balance(ctx, address, balance - amount)


def send(ctx: Context, sender: bytes, recipient: bytes, amount: int) -> None:
    """Move `amount` uvox; raises InsufficientFundsError, BlockedRecipientError."""
    # Verify the recipient may receive funds
    if recipient in BLOCKED_RECIPIENTS:
        raise BlockedRecipientError("this module account cannot receive funds")
    decrease_balance(ctx, sender, amount)
    increase_balance(ctx, recipient, amount)


def move(ctx: Context, sender: bytes, recipient: bytes, amount: int) -> None:
    """Move `amount` uvox for a module's own accounting (into or out of its module accounts),
    without the blocked-recipient check of `send`. Raises InsufficientFundsError."""
    if amount == 0:
        return
    decrease_balance(ctx, sender, amount)
    increase_balance(ctx, recipient, amount)


def _add_counter(ctx: Context, key: bytes, amount: int) -> None:
    raw = ctx.get(key)
    ctx.set(key, encode_uint((decode_uint(raw) if raw else 0) + amount))


def get_supply(ctx: Context) -> int:
    raw = ctx.get(SUPPLY_KEY)
    return decode_uint(raw) if raw else 0


def mint(ctx: Context, module: str, amount: int) -> None:
    """Create `amount` uvox in a module account that holds the minter permission."""
    # Verify the module may mint
    if not has_permission(module, Permission.MINTER):
        raise ModulePermissionError(f"module account {module} may not mint")
    supply = get_supply(ctx) + amount
    # Verify the supply stays within 64 bits
    if supply > MAX_AMOUNT:
        raise SupplyOverflowError(f"supply would reach {supply}")
    ctx.set(SUPPLY_KEY, encode_uint(supply))
    _add_counter(ctx, MINTED_KEY, amount)
    increase_balance(ctx, module_address(module), amount)
    ctx.emit("mint", module=module, amount=str(amount))


def burn(ctx: Context, module: str, amount: int) -> None:
    """Destroy `amount` uvox held by a module account that holds the burner permission."""
    # Verify the module may burn
    if not has_permission(module, Permission.BURNER):
        raise ModulePermissionError(f"module account {module} may not burn")
    decrease_balance(ctx, module_address(module), amount)
    ctx.set(SUPPLY_KEY, encode_uint(get_supply(ctx) - amount))
    _add_counter(ctx, BURNED_KEY, amount)
    ctx.emit("burn", module=module, amount=str(amount))


# --- unmetered reads for queries and invariants ----------------------------------------------


def read_supply(state: KVReader) -> int:
    raw = state.get(SUPPLY_KEY)
    return decode_uint(raw) if raw else 0


def read_uint(state: KVReader, key: bytes) -> int:
    raw = state.get(key)
    return decode_uint(raw) if raw else 0


def read_balance(state: KVReader, address: bytes) -> int:
    return read_uint(state, balance_key(address))


def iter_balances(state: KVReader) -> list[tuple[bytes, int]]:
    return [(k[len(BALANCE_PREFIX) :], decode_uint(v)) for k, v in state.iterate(BALANCE_PREFIX)]
