"""How long Bitcoin blocks may take: the tool's time estimates for a CSV timeout.

Blocks arrive as a Poisson process (one per `block_seconds` on average), so the time for n blocks
is a Gamma(n, block_seconds) variable: 144 blocks take 24 h on average, but one run in a thousand
takes under 18.3 h. A swap tool asking "is there enough time left on this lock?" must use the
fast end, or a run of fast blocks opens the sender's refund while the recipient still waits.

A lock's recipient cares about the other end: `most_seconds` is how long the sender's lock may
really last, which bounds how late the sender can claim on the other chain.

`least_seconds` is the fast end: the time n blocks exceed with probability 1 - 1/1000, by the
Wilson-Hilferty approximation of the Gamma quantile: from 6 blocks up, the probability of a
faster run is 0.0007..0.0011 (tests/swap/test_btc_script.py checks it against the exact Poisson
sum); below a few blocks it is near zero, which only makes the tool more careful.
"""

from __future__ import annotations

import math

# The standard normal quantiles of 0.001 and 0.999 (one run in a thousand, fast or slow)
Z_FAST = -3.090232
Z_SLOW = 3.090232


def least_seconds(blocks: int, block_seconds: int) -> int:
    """Seconds `blocks` blocks take at least, but for one run in a thousand (0 for 0 blocks)."""
    if blocks <= 0:
        return 0
    third = 1.0 / (9.0 * blocks)
    cube = 1.0 - third + Z_FAST * math.sqrt(third)
    return max(0, math.floor(blocks * max(cube, 0.0) ** 3 * block_seconds))


def most_seconds(blocks: int, block_seconds: int) -> int:
    """Seconds `blocks` blocks take at most, but for one run in a thousand: how long a lock of
    `blocks` CSV blocks may really last (its sender cannot refund, nor its recipient be sure of
    the deadline, before that)."""
    if blocks <= 0:
        return 0
    third = 1.0 / (9.0 * blocks)
    cube = 1.0 - third + Z_SLOW * math.sqrt(third)
    return math.ceil(blocks * cube**3 * block_seconds)
