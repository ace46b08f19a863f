"""The ABCI adapter: CometBFT's socket protocol in front of a `voxpop.chain.abci.Application`.

- `codec`: varint length-prefixed framing (no protobuf).
- `proto`: the generated protobuf types (`scripts/gen_proto.sh` builds them into `gen/`).
- `translate`: protobuf <-> the application's dataclasses.
- `event_index`: which event attributes the node marks for CometBFT's tx indexer.
- `server`: the asyncio socket server serving CometBFT's four connections.

`AbciServer`, `AppLock` and `ListenAddress` are re-exported lazily, so `voxpop.abci.codec` stays
importable before the protobuf types have been generated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voxpop.abci.server import AbciServer, AppLock, ListenAddress

__all__ = ["AbciServer", "AppLock", "ListenAddress"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from voxpop.abci import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
