"""Auth state: accounts (sequence and public key) and the chain-wide tx parameters.

auth/acc/<addr 20>  -> CBOR [sequence, pub_key]   (pub_key empty until the first signed tx)
auth/params         -> CBOR map of AuthParams
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.gas import GasSchedule
from voxpop.chain.kv import KVReader
from voxpop.chain.modules.bounds import MAX_INT64, MAX_UINT64, param_int
from voxpop.chain.tx import FORMAT_MAX_TX_BYTES

PREFIX = b"auth/"
ACCOUNT_PREFIX = b"auth/acc/"
PARAMS_KEY = b"auth/params"
MAX_BLOCK_BYTES = 100 * 1024 * 1024  # CometBFT's MaxBlockSizeBytes
MAX_GAS_COST = (1 << 32) - 1  # one unit's cost; times any bounded size it stays far within int64


@dataclass(frozen=True, slots=True)
class Account:
    sequence: int = 0
    pub_key: bytes = b""


@dataclass(frozen=True, slots=True)
class AuthParams:
    max_tx_bytes: int = 32 * 1024
    max_msgs: int = 64
    max_memo_bytes: int = 256
    # Minimum fee = ceil(gas_limit * num / den) uvox; the default is 1 uvox per 1,000 gas.
    min_gas_price_num: int = 1
    min_gas_price_den: int = 1000
    max_gas_per_tx: int = 10_000_000
    max_block_gas: int = 200_000_000
    max_block_bytes: int = 8 * 1024 * 1024
    gas: GasSchedule = field(default_factory=GasSchedule)

    def min_fee(self, gas_limit: int) -> int:
        return -(-gas_limit * self.min_gas_price_num // self.min_gas_price_den)

    def to_value(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> AuthParams:
        value = dict(value)
        names = {f.name for f in fields(cls)}
        if set(value) != names:
            raise InvalidGenesisError(f"auth params need exactly {sorted(names)}")
        gas = value.pop("gas")
        try:
            schedule = GasSchedule(**gas)
        except TypeError as exc:
            raise InvalidGenesisError(f"auth params gas: {exc}") from None
        for name, n in asdict(schedule).items():
            param_int("auth", f"gas.{name}", n, 0, MAX_GAS_COST)
        params = cls(gas=schedule, **value)
        params.check_bounds()
        return params

    def check_bounds(self) -> None:
        """Raise InvalidGenesisError unless every param is within what its use allows."""
        # Verify each param on its own: sizes the decoder and CometBFT accept, int64 gas
        param_int("auth", "max_block_bytes", self.max_block_bytes, 1, MAX_BLOCK_BYTES)
        param_int("auth", "max_tx_bytes", self.max_tx_bytes, 1, FORMAT_MAX_TX_BYTES)
        param_int("auth", "max_msgs", self.max_msgs, 1, self.max_tx_bytes)
        param_int("auth", "max_memo_bytes", self.max_memo_bytes, 0, self.max_tx_bytes)
        param_int("auth", "min_gas_price_num", self.min_gas_price_num, 0, MAX_UINT64)
        param_int("auth", "min_gas_price_den", self.min_gas_price_den, 1, MAX_UINT64)
        param_int("auth", "max_block_gas", self.max_block_gas, 1, MAX_INT64)
        param_int("auth", "max_gas_per_tx", self.max_gas_per_tx, 1, MAX_INT64)
        # Verify a tx the mempool accepts can be put in a block (else it is stuck there for good)
        if self.max_tx_bytes > self.max_block_bytes or self.max_gas_per_tx > self.max_block_gas:
            raise InvalidGenesisError(
                "auth params: max_tx_bytes and max_gas_per_tx must fit in a block "
                "(at most max_block_bytes and max_block_gas)"
            )
        # Verify the smallest tx (one signature) can pay for itself
        smallest = self.gas.tx_base + self.gas.sig_verify
        if self.max_gas_per_tx < smallest:
            raise InvalidGenesisError(
                f"auth max_gas_per_tx {self.max_gas_per_tx} is below the {smallest} gas "
                "every tx needs (gas.tx_base + gas.sig_verify)"
            )
        # Verify the fee for the largest tx is an amount a tx can state (64 bits)
        if self.min_fee(self.max_gas_per_tx) > MAX_UINT64:
            raise InvalidGenesisError(
                "auth params: the minimum fee for max_gas_per_tx exceeds 64 bits"
            )


def account_key(address: bytes) -> bytes:
    return ACCOUNT_PREFIX + address


def decode_account(raw: bytes) -> Account:
    sequence, pub_key = decode_state(raw)
    return Account(sequence, pub_key)


def get_account(ctx: Context, address: bytes) -> Account:
    raw = ctx.get(account_key(address))
    return decode_account(raw) if raw else Account()


def set_account(ctx: Context, address: bytes, account: Account) -> None:
    ctx.set(account_key(address), encode([account.sequence, account.pub_key]))


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> AuthParams:
    # Params are read by every tx and change rarely; the result is immutable, so share it
    return AuthParams.from_value(decode_state(raw))


def read_params(reader: KVReader) -> AuthParams:
    raw = reader.get(PARAMS_KEY)
    return decode_params(raw) if raw else AuthParams()


def set_params(ctx: Context, params: AuthParams) -> None:
    ctx.set(PARAMS_KEY, encode(params.to_value()))
