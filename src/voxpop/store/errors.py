"""The store's typed errors. Every failure the store raises is a StoreError."""

from __future__ import annotations


class StoreError(Exception):
    """A store operation failed: bad input, a closed store, or a corrupt database."""


class ProofError(StoreError):
    """A proof could not be encoded or decoded (malformed, non-canonical or oversized)."""


class VersionError(StoreError):
    """A version was asked for that the store does not hold, or a commit was out of order."""

    def __init__(self, message: str, *, version: int) -> None:
        super().__init__(message)
        self.version = version


class StoreLockedError(StoreError):
    """Another process has the store open for writing."""
