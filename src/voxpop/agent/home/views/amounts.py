"""Amounts as an owner reads them: VOX with thousands grouped and only the decimals needed, and
the exact uvox for the page's hover title (1 VOX = 1,000,000 uvox; integers only)."""

from __future__ import annotations

from dataclasses import dataclass

from voxpop.client.amount import UVOX_PER_VOX, VOX_DECIMALS


@dataclass(frozen=True, slots=True)
class Amount:
    uvox: int

    @property
    def text(self) -> str:
        """1_234_500_000 -> "1,234.5 VOX"; 1 -> "0.000001 VOX"."""
        sign = "-" if self.uvox < 0 else ""
        whole, frac = divmod(abs(self.uvox), UVOX_PER_VOX)
        decimals = str(frac).rjust(VOX_DECIMALS, "0").rstrip("0")
        return f"{sign}{whole:,}{'.' + decimals if decimals else ''} VOX"

    @property
    def exact(self) -> str:
        """1_500_000 -> "1,500,000 uvox" (what the hover title shows)."""
        return f"{self.uvox:,} uvox"

    def __str__(self) -> str:
        return self.text


def vox(uvox: int) -> Amount:
    return Amount(int(uvox))


def short_hex(data: bytes | str, keep: int = 8) -> str:
    """A long id cut for reading: the first `keep` hex digits and an ellipsis."""
    text = data.hex() if isinstance(data, bytes) else data
    return text if len(text) <= keep else text[:keep] + "…"


def percent(part: int, whole: int) -> int:
    """`part` of `whole` in whole percent, rounded down (0 when `whole` is 0)."""
    return part * 100 // whole if whole > 0 else 0
