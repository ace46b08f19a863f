"""Gas: every tx states a limit and pays for it up front, so its fee bounds the work it causes."""

from __future__ import annotations

from dataclasses import dataclass

from voxpop.chain.errors import OutOfGasError


@dataclass(frozen=True, slots=True)
class GasSchedule:
    """What each kind of work costs. Part of the auth module's params."""

    tx_base: int = 1000
    tx_byte: int = 10
    sig_verify: int = 1000
    read_flat: int = 10
    read_byte: int = 1
    write_flat: int = 200
    write_byte: int = 10
    delete: int = 100
    iter_step: int = 30


class GasMeter:
    __slots__ = ("consumed", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.consumed = 0

    def consume(self, amount: int, what: str) -> None:
        self.consumed += amount
        # Verify the tx stays within the gas it paid for
        if self.consumed > self.limit:
            raise OutOfGasError(f"out of gas in {what}: used {self.consumed}, limit {self.limit}")


class InfiniteGasMeter(GasMeter):
    """For genesis and block hooks: work the protocol itself does, not a tx."""

    def __init__(self) -> None:
        super().__init__(1 << 62)

    def consume(self, amount: int, what: str) -> None:
        self.consumed += amount
