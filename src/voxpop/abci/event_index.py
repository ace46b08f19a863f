"""Which event attributes a node asks CometBFT's tx indexer to index (its `tx_search`).

Every indexed attribute costs CometBFT one more database write per tx, and most are never
searched, so a node names the few it serves searches on, as Cosmos SDK's `index-events` does.
The choice is the node's own: CometBFT hashes no event into a block's results, so nodes with
different choices agree on every block. CometBFT always indexes `tx.hash` and `tx.height`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ALL = "*"

# What a wallet searches by: the txs an account signed, and the payments it received
DEFAULT_INDEX_EVENTS = ("tx.signer", "transfer.recipient")


class EventIndexError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class EventIndex:
    """The attributes to index as `type.key` names, or every one (`everything`)."""

    keys: frozenset[tuple[str, str]] = frozenset()
    everything: bool = False

    @classmethod
    def parse(cls, names: Iterable[str]) -> EventIndex:
        """From `["tx.signer", "transfer.recipient"]`; `["*"]` is every attribute, `[]` none.

        Raises EventIndexError for a name that is not `type.key`.
        """
        keys: set[tuple[str, str]] = set()
        for name in names:
            if name == ALL:
                return cls(everything=True)
            event_type, dot, key = name.partition(".") if isinstance(name, str) else ("", "", "")
            # Verify the name is an event type and an attribute key, both non-empty
            if not dot or not event_type or not key or name != name.strip():
                raise EventIndexError(f"{name!r} is not an event attribute (type.key) or '*'")
            keys.add((event_type, key))
        return cls(keys=frozenset(keys))

    def names(self, event_type: str, key: str) -> bool:
        """Whether attribute `key` of events of `event_type` is indexed."""
        return self.everything or (event_type, key) in self.keys
