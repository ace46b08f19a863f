"""The agent's local log of every sharing decision and why (issue 14, M20): one JSON object per
line in `<home>/consent/decisions.jsonl`, appended under an exclusive lock and fsynced, never
rewritten. It stays in the owner's home: it names objects, which the chain never links to the
owner's labels.

Record kinds (`event`): `offer` (the policy's answer to a market offer: accept with the objects,
or decline with the reason), `grant` (a grant made: id, grantee, objects, offer), `revoke`,
`settle` (a sale paid: offer, objects, amount), `error` (a step that failed, to be retried).
The period caps of the policy count the objects of `grant` records.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from voxpop.client.consent.errors import ConsentClientError

LOG_DIR = "consent"
LOG_FILE = "decisions.jsonl"
EVENTS = frozenset({"offer", "grant", "revoke", "settle", "error"})


class DecisionLog:
    def __init__(self, home: Path) -> None:
        self.path = Path(home) / LOG_DIR / LOG_FILE

    def append(self, event: str, time: int, **fields: Any) -> dict[str, Any]:
        """Add one record (`time`: unix seconds, the agent's clock)."""
        # Verify the record kind is one readers know
        if event not in EVENTS:
            raise ConsentClientError(f"unknown decision event {event!r}")
        record = {"event": event, "time": time, **fields}
        line = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
        return record

    def records(self, event: str | None = None) -> Iterator[dict[str, Any]]:
        """Every record, oldest first (only `event`'s, if given). A torn last line (a crash
        mid-append) is skipped."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event is None or record.get("event") == event:
                yield record

    def grant_history(self) -> list[tuple[int, int]]:
        """(time, objects) of every grant made: what the policy's period cap counts."""
        return [(int(r["time"]), len(r["objects"])) for r in self.records("grant")]

    def sold_to(self, offer_id: bytes) -> frozenset[str]:
        """Object ids (hex) already granted under `offer_id`."""
        return frozenset(
            o
            for r in self.records("grant")
            if r.get("offer") == offer_id.hex()
            for o in r["objects"]
        )

    def handled_offers(self) -> frozenset[str]:
        """Offers (hex) the agent has answered already (it does not ask twice)."""
        return frozenset(r["offer"] for r in self.records("offer"))
