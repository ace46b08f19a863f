"""What `voxpop provider status` shows: counters the gateway keeps and writes to a file in its
home once a second (and serves at GET /v1/status on its own port)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STATUS_NAME = "status.json"


@dataclass(slots=True)
class ProviderStats:
    served: int = 0  # paid calls answered since start
    served_unpaid: int = 0  # calls on the --bench-unpaid route
    earned: int = 0  # uvox accepted since start (sum of voucher increments)
    claims_sent: int = 0  # claim txs that landed since start
    claim_errors: int = 0
    last_claim_error: str = ""


def write_status(path: Path, status: dict[str, Any]) -> None:
    """Replace the status file atomically (a reader never sees half of one)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(status, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def read_status(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def stats_dict(stats: ProviderStats) -> dict[str, Any]:
    return asdict(stats)
