"""The swap tool's state on disk: one JSON file per swap (`<dir>/swaps/<hashlock>.json`), written
atomically (temp file, fsync, rename, fsync of the directory), so a `kill -9` at any point
leaves either the old record or the new one, and the tool resumes from it.

The offerer's record holds the secret (the preimage) from before the offer is posted until the
swap ends: the file is created 0600, in a directory only its owner reads.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

OFFERER, TAKER = "offerer", "taker"
DONE_OUTCOMES = ("swapped", "refunded", "expired", "abandoned", "refused", "cancelled")


@dataclass
class SwapRecord:
    """One swap as one side sees it. Amounts in each chain's smallest unit; addresses in each
    chain's text form; `my_terms` is saved before our lock is sent, so a restart re-sends the
    same lock (lock ids are derived from the terms: a second send finds the first)."""

    hashlock: str  # hex: the swap's id on both chains and the file's name
    role: str  # OFFERER | TAKER
    side: str  # the offer's: "sell" (the offerer gives VOX) or "buy"
    asset: str  # the other chain's: "ETH", "BTC"
    vox_amount: int
    asset_amount: int
    offerer_seconds: int
    taker_seconds: int
    margin_seconds: int  # the least time left on a lock before we act on it (see docs/swaps.md)
    offerer_vox: str
    offerer_other: str
    offer_id: str = ""  # hex, once posted (offerer) or as taken (taker)
    taker_vox: str = ""
    taker_other: str = ""
    secret: str = ""  # hex: the offerer's from the start; the taker's once revealed
    phase: str = "new"
    my_terms: dict[str, Any] | None = None
    my_lock: str = ""
    their_lock: str = ""
    outcome: str = ""  # one of DONE_OUTCOMES once finished
    waiting_since: float = 0.0  # wall clock the current wait began (give-up timers only)
    notes: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return bool(self.outcome)

    @property
    def gives_vox(self) -> bool:
        """True if this side locks uvox (and receives the other asset)."""
        return (self.role == OFFERER) == (self.side == "sell")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> SwapRecord:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in value.items() if k in names})


class SwapStore:
    """`<root>/swaps/`, one file per swap (the tool's config.json sits in root)."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root = root / "swaps"
        self.root.mkdir(exist_ok=True, mode=0o700)

    def path(self, hashlock: str) -> Path:
        return self.root / f"{hashlock}.json"

    def save(self, record: SwapRecord) -> None:
        target = self.path(record.hashlock)
        tmp = target.with_suffix(".tmp")
        data = json.dumps(record.to_json(), indent=1, sort_keys=True).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        dir_fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def load(self, hashlock: str) -> SwapRecord:
        """Raises FileNotFoundError."""
        return SwapRecord.from_json(json.loads(self.path(hashlock).read_text()))

    def find(self, prefix: str) -> SwapRecord:
        """The one swap whose hashlock (or offer id) starts with `prefix`. Raises KeyError."""
        matches = [r for r in self.all() if r.hashlock.startswith(prefix)]
        matches = matches or [r for r in self.all() if r.offer_id and r.offer_id.startswith(prefix)]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} swaps match {prefix!r}")
        return matches[0]

    def all(self) -> list[SwapRecord]:
        return [
            SwapRecord.from_json(json.loads(p.read_text()))
            for p in sorted(self.root.glob("*.json"))
        ]
