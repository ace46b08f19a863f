"""Scan a node's files on disk for strings that must never be there (canaries planted in
encrypted data): every byte of every file, in the encodings a value could be stored or logged in."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from pathlib import Path

CHUNK = 16 << 20


def forms(needle: bytes) -> list[bytes]:
    """The ways `needle` could sit in a file: raw, hex (either case), base64 at each of the three
    alignments (the part of its encoding that does not depend on the bytes around it)."""
    out = [needle, needle.hex().encode(), needle.hex().upper().encode()]
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + needle)
        # Keep the groups of 3 bytes that are all the needle's: not mixed with the bytes before
        # it, nor the partial group at its end
        start = 0 if shift == 0 else 4
        end = (shift + len(needle)) // 3 * 4
        body = encoded[start:end]
        if len(body) >= 8:
            out.append(body)
    return out


def files_under(roots: Iterable[Path]) -> list[Path]:
    found = []
    for root in roots:
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found.extend(p for p in sorted(root.rglob("*")) if p.is_file())
    return found


def scan(roots: Iterable[Path], needles: Mapping[str, bytes]) -> dict[str, list[str]]:
    """For each needle (by label), the files that hold it in any form; every byte of every file
    under `roots` is read, in overlapping chunks so nothing straddling a boundary is missed."""
    patterns = {label: forms(needle) for label, needle in needles.items()}
    overlap = max(len(p) for ps in patterns.values() for p in ps)
    hits: dict[str, list[str]] = {label: [] for label in needles}
    for path in files_under(roots):
        with path.open("rb") as f:
            tail = b""
            while True:
                chunk = f.read(CHUNK)
                if not chunk:
                    break
                window = tail + chunk
                for label, ps in patterns.items():
                    if str(path) not in hits[label] and any(p in window for p in ps):
                        hits[label].append(str(path))
                tail = window[-overlap:]
    return hits


def bytes_scanned(roots: Iterable[Path]) -> int:
    return sum(p.stat().st_size for p in files_under(roots))
