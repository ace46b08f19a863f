"""Amounts as people write them, to and from integer uvox (1 vox = 1,000,000 uvox). No floats.

"1.5vox"      -> 1_500_000
"1500000uvox" -> 1_500_000
"1500000"     -> 1_500_000   (a bare integer is uvox)
"""

from __future__ import annotations

import re

from voxpop.client.errors import AmountError

UVOX_PER_VOX = 1_000_000
VOX_DECIMALS = 6
MAX_AMOUNT = (1 << 64) - 1
_MAX_TEXT = 40
_AMOUNT = re.compile(r"(?P<whole>[0-9]+)(?:\.(?P<frac>[0-9]+))?(?P<unit>vox|uvox)?")


def parse_amount(text: str, *, allow_zero: bool = False) -> int:
    """The amount in uvox. Raises AmountError for anything but a plain non-negative decimal with
    an optional unit: no sign, no spaces inside, no exponent, no separators, at most 6 decimals
    (and none in uvox or bare amounts), at most 2**64 - 1 uvox, and not zero unless allow_zero.
    """
    raw = text.strip()
    # Verify the shape: digits, an optional fraction, an optional unit
    if not raw:
        raise AmountError("the amount is empty")
    if len(raw) > _MAX_TEXT:
        raise AmountError(f"{raw[:_MAX_TEXT]!r}... is too long for an amount")
    if raw[0] in "+-":
        raise AmountError(f"{raw!r}: an amount has no sign (and is never negative)")
    match = _AMOUNT.fullmatch(raw)
    if match is None:
        raise AmountError(
            f"{raw!r} is not an amount: write e.g. 1.5vox, 1500000uvox or 1500000 (uvox)"
        )
    whole, frac, unit = match["whole"], match["frac"], match["unit"]
    # Verify decimals appear only with vox, and no finer than 1 uvox
    if frac is not None and unit != "vox":
        raise AmountError(f"{raw!r}: only vox amounts may have decimals; uvox is indivisible")
    if frac is not None and len(frac) > VOX_DECIMALS:
        raise AmountError(f"{raw!r}: at most {VOX_DECIMALS} decimals (1 uvox = 0.000001 vox)")
    if unit == "vox":
        amount = int(whole) * UVOX_PER_VOX + int((frac or "").ljust(VOX_DECIMALS, "0"))
    else:
        amount = int(whole)
    # Verify the range
    if amount == 0 and not allow_zero:
        raise AmountError(f"{raw!r}: the amount must be more than zero")
    if amount > MAX_AMOUNT:
        raise AmountError(f"{raw!r}: more than the largest amount ({MAX_AMOUNT} uvox)")
    return amount


def format_vox(uvox: int) -> str:
    """uvox as vox with only the decimals needed: 1_500_000 -> "1.5vox", 1 -> "0.000001vox"."""
    if uvox < 0:
        raise AmountError("an amount is never negative")
    whole, frac = divmod(uvox, UVOX_PER_VOX)
    if frac == 0:
        return f"{whole}vox"
    return f"{whole}.{str(frac).rjust(VOX_DECIMALS, '0').rstrip('0')}vox"
