"""The storage node's only door to the chain: proven reads of deals, challenges and params, and
its own txs (Register/Update, Confirm, Prove, Claim), one at a time.

Every read that decides what the node stores, serves or proves is a proven query (the light
client verifies it against a signed header): a node that lied about a deal could make the storage
node take a shard the chain never committed to, or skip a challenge.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from voxpop.chain.errors import ERRORS
from voxpop.chain.module import Msg
from voxpop.chain.modules.consent.state import Grant, decode_grant
from voxpop.client import AsyncVoxClient, NotFoundError, TxRejectedError, VoxClientError
from voxpop.client.tx import Message
from voxpop.crypto.keys import PrivateKey
from voxpop.storage import wire

DEAL_QUERY = "/storage/deal"
PROVIDER_QUERY = "/storage/provider"
CHALLENGES_QUERY = "/storage/challenges"
PARAMS_QUERY = "/storage/params"
PLACEMENTS_LIST = "/storage/by_provider"
GRANT_QUERY = "/consent/grant"
TX_GAS = 400_000


class ChainUnavailableError(Exception):
    """The node could not be reached, or its answer did not verify."""


class TxFailedError(Exception):
    """A tx of the node was refused (at check or in the block). `code` is the chain's error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class TxOutcome:
    height: int
    events: tuple[Any, ...]


class ChainLink:
    """One AsyncVoxClient for reads and the node's account key for its txs (serialized: one
    sequence number at a time)."""

    def __init__(self, url: str, account: PrivateKey, chain_id: str | None = None) -> None:
        self.client = AsyncVoxClient(url, chain_id=chain_id, timeout=15.0)
        self.account = account
        self.address = account.public_key.address
        self._tx_lock = asyncio.Lock()
        self.last_height = 0

    async def close(self) -> None:
        await self.client.aclose()

    async def _proven(self, path: str, data: bytes) -> bytes | None:
        try:
            result = await self.client.query(path, data, prove=True)
        except NotFoundError:
            return None
        except VoxClientError as exc:
            raise ChainUnavailableError(f"{path}: {exc}") from None
        # Verify the node proved its answer (it must not invent or hide a record)
        if not result.verified:
            raise ChainUnavailableError(f"{path}: the node's answer did not verify")
        self.last_height = max(self.last_height, result.height)
        return result.value or None

    async def height(self) -> int:
        try:
            status = await self.client.status()
        except VoxClientError as exc:
            raise ChainUnavailableError(f"node status failed: {exc}") from None
        self.last_height = max(self.last_height, status.latest_height)
        return status.latest_height

    async def chain_id(self) -> str:
        try:
            return (await self.client.status()).chain_id
        except VoxClientError as exc:
            raise ChainUnavailableError(f"node status failed: {exc}") from None

    async def deal(self, object_id: bytes) -> wire.Deal | None:
        raw = await self._proven(DEAL_QUERY, object_id)
        return None if raw is None else wire.decode_deal(raw)

    async def grant(self, grant_id: bytes) -> Grant | None:
        """An access grant (consent), for the reads its grantee may make."""
        raw = await self._proven(GRANT_QUERY, grant_id)
        return None if raw is None else decode_grant(raw)

    async def provider(self, address: bytes | None = None) -> wire.ProviderRecord | None:
        raw = await self._proven(PROVIDER_QUERY, address or self.address)
        return None if raw is None else wire.decode_provider(raw)

    async def params(self) -> wire.Params:
        raw = await self._proven(PARAMS_QUERY, b"")
        if raw is None:
            raise ChainUnavailableError("the chain has no storage params (no storage module?)")
        return wire.decode_params(raw)

    async def challenges(self, epoch: int) -> wire.Challenges | None:
        raw = await self._proven(CHALLENGES_QUERY, self.address + epoch.to_bytes(8, "big"))
        return None if raw is None else wire.decode_challenges(raw)

    async def placements(self) -> list[tuple[bytes, int, wire.Deal]]:
        """(object_id, shard_index, deal) of every placement the chain lists for this node (the
        list carries each deal's record, proven with it)."""
        try:
            listed = await self.client.query_list(PLACEMENTS_LIST, self.address, prove=True)
        except VoxClientError as exc:
            raise ChainUnavailableError(f"{PLACEMENTS_LIST}: {exc}") from None
        out = []
        for item in listed.items:
            object_id, index = wire.decode_placement_id(item.id)
            out.append((object_id, index, wire.decode_deal(item.value)))
        return sorted(out, key=lambda entry: (entry[0], entry[1]))

    async def send(self, msgs: Sequence[Message | Msg], gas: int = TX_GAS) -> TxOutcome:
        """Sign and commit one tx. Raises TxFailedError, ChainUnavailableError."""
        async with self._tx_lock:
            try:
                result = await self.client.execute(
                    self.account, list(msgs), gas_limit=gas, mode="commit"
                )
            except TxRejectedError as exc:  # refused at check: state unchanged
                raise TxFailedError(exc.code, str(exc)) from None
            except VoxClientError as exc:
                raise ChainUnavailableError(f"tx not sent: {exc}") from None
        # Verify it executed in the block (a failed tx pays its fee and changes nothing else)
        if result.code != 0:
            error = ERRORS.get(result.code)
            raise TxFailedError(error.name if error else str(result.code), result.log)
        return TxOutcome(result.height, tuple(result.events))
