"""Progress of a put or get, reported phase by phase so a CLI can draw a bar (or stay quiet)."""

from __future__ import annotations

from typing import Protocol

# The phases, in the order a put or get goes through them
ENCRYPT = "encrypt"  # encrypt, erasure-code and hash the shards (put)
COMMIT = "commit"  # the deal's tx, waiting for its block (put, repair)
UPLOAD = "upload"  # shards and headers to the storage nodes (bytes)
CONFIRM = "confirm"  # waiting for the nodes' Confirm txs (placements)
DOWNLOAD = "download"  # shards from the fastest nodes (bytes)
DECODE = "decode"  # erasure-decode and decrypt (get)


class Progress(Protocol):
    def __call__(self, phase: str, done: int, total: int) -> None: ...


def quiet(phase: str, done: int, total: int) -> None:
    """A Progress that reports nothing."""
