"""The node's journal of answers not yet on chain: `<home>/records.journal`, so a node killed
between an answer and its consent/Record still records that access after a restart.

Each answer is appended (one `write` of the whole entry, before the answer leaves the node) and
each record settled (landed, or refused for good) is appended too; a restart replays the file
and sends what is open again. A write that completed survives the process being killed (it is in
the OS's page cache); it is not synced to disk per answer (that would cost a disk flush per
access), so a power loss can lose the last answers' records.

Entry: 4-byte big-endian length, then canonical CBOR: `[0, attestation, request, grant_id,
request_id]` (answered) or `[1, [request_id, ...]]` (settled). A torn last entry (a kill inside
the write) is ignored: its answer was never sent. The file is rewritten with only the open
entries once COMPACT_AFTER records have settled since the last rewrite.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import cbor2

JOURNAL_FILE = "records.journal"
COMPACT_AFTER = 4_096
_ANSWERED, _SETTLED = 0, 1
_MAX_ENTRY = 1 << 20


class RecordJournal:
    """Open answers by request id -> (attestation, request, grant_id)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.open: dict[bytes, tuple[bytes, bytes, bytes]] = {}
        self._settled_since = 0
        self._fd = -1

    def load(self) -> list[tuple[bytes, bytes, bytes, bytes]]:
        """Read the file (creating it if absent); the open answers in answer order, as
        (attestation, request, grant_id, request_id)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            for entry in _entries(self.path.read_bytes()):
                if entry[0] == _ANSWERED:
                    _, attestation, request, grant_id, request_id = entry
                    self.open[request_id] = (attestation, request, grant_id)
                else:
                    for request_id in entry[1]:
                        self.open.pop(request_id, None)
        self._rewrite()
        return [(a, r, g, rid) for rid, (a, r, g) in self.open.items()]

    def answered(
        self, attestation: bytes, request: bytes, grant_id: bytes, request_id: bytes
    ) -> None:
        """Journal one answer (before it is sent). Raises OSError."""
        self._append([_ANSWERED, attestation, request, grant_id, request_id])
        self.open[request_id] = (attestation, request, grant_id)

    def settled(self, request_ids: Iterable[bytes]) -> None:
        """Journal records that need no more sending. Raises OSError."""
        ids = [rid for rid in request_ids if rid in self.open]
        if not ids:
            return
        self._append([_SETTLED, ids])
        for rid in ids:
            del self.open[rid]
        self._settled_since += len(ids)
        if self._settled_since >= COMPACT_AFTER:
            self._rewrite()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _append(self, entry: list[Any]) -> None:
        raw = cbor2.dumps(entry, canonical=True)
        data = len(raw).to_bytes(4, "big") + raw
        written = os.write(self._fd, data)
        if written != len(data):  # a short write to a regular file: the disk is full
            raise OSError(f"journal: wrote {written} of {len(data)} bytes")

    def _rewrite(self) -> None:
        """Replace the file with the open entries only (write aside, then rename)."""
        self.close()
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("wb") as out:
            for rid, (attestation, request, grant_id) in self.open.items():
                raw = cbor2.dumps([_ANSWERED, attestation, request, grant_id, rid], canonical=True)
                out.write(len(raw).to_bytes(4, "big") + raw)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._settled_since = 0


def _entries(data: bytes) -> Iterator[list[Any]]:
    """The well-formed entries of a journal, up to a torn or malformed tail."""
    at = 0
    while at + 4 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        if size > _MAX_ENTRY or at + 4 + size > len(data):
            return
        try:
            entry = cbor2.loads(data[at + 4 : at + 4 + size])
        except (cbor2.CBORDecodeError, ValueError, TypeError, EOFError):
            return
        if not _well_formed(entry):
            return
        yield entry
        at += 4 + size


def _well_formed(entry: Any) -> bool:
    if not isinstance(entry, list) or not entry:
        return False
    if entry[0] == _ANSWERED:
        return len(entry) == 5 and all(isinstance(x, bytes) for x in entry[1:])
    if entry[0] == _SETTLED:
        return (
            len(entry) == 2
            and isinstance(entry[1], list)
            and all(isinstance(x, bytes) for x in entry[1])
        )
    return False
