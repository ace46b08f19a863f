"""The privacy node's door to the chain: the storage node's ChainLink (proven reads, its own txs
one at a time) plus proven reads of grants, directory keys and its reencrypt offer.

Every read that decides whether the node re-encrypts is proven (the light client checks it
against a signed header): a node's API that lied about a grant could make it serve a revoked one
and be slashed for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxpop.chain.modules.consent.state import ConsentParams, Grant, decode_grant
from voxpop.chain.modules.consent.state import decode_params as decode_consent_params
from voxpop.chain.modules.services.state import Offer, decode_offer
from voxpop.client import AsyncVoxClient, NotFoundError, VoxClientError
from voxpop.client.directory import decode_key_record
from voxpop.crypto.keys import PrivateKey
from voxpop.storage.chain import GRANT_QUERY, ChainLink, ChainUnavailableError

KEYS_QUERY = "/directory/keys"
CONSENT_PARAMS_QUERY = "/consent/params"
OFFER_QUERY = "/services/offer"


@dataclass(frozen=True, slots=True)
class ProvenGrant:
    """A grant as the chain held it at `height` (None: no such grant), its proof verified."""

    grant: Grant | None
    height: int


class PrivacyLink(ChainLink):
    """Reads go through a client of their own: a request waiting for a grant read must not
    queue behind the node's txs."""

    def __init__(self, url: str, account: PrivateKey, chain_id: str | None = None) -> None:
        super().__init__(url, account, chain_id)
        self.reader = AsyncVoxClient(url, chain_id=chain_id, timeout=15.0)

    async def close(self) -> None:
        await self.reader.aclose()
        await super().close()

    async def _read(self, path: str, data: bytes) -> tuple[bytes, int]:
        """(value, height) of a proven query; b"" when absent. Raises ChainUnavailableError."""
        try:
            result = await self.reader.query(path, data, prove=True)
        except NotFoundError:
            return b"", self.last_height
        except VoxClientError as exc:
            raise ChainUnavailableError(f"{path}: {exc}") from None
        # Verify the node proved its answer (it must not invent, hide or age a record)
        if not result.verified:
            raise ChainUnavailableError(f"{path}: the node's answer did not verify")
        self.last_height = max(self.last_height, result.height)
        return result.value or b"", result.height

    async def proven_grant(self, grant_id: bytes) -> ProvenGrant:
        raw, height = await self._read(GRANT_QUERY, grant_id)
        return ProvenGrant(decode_grant(raw) if raw else None, height)

    async def keys(self, address: bytes) -> tuple[int, bytes | None, bytes | None]:
        """(version, x25519, secp256k1) an account publishes; (0, None, None) if none."""
        raw, _ = await self._read(KEYS_QUERY, address)
        try:
            record = decode_key_record(raw)
        except VoxClientError as exc:
            raise ChainUnavailableError(str(exc)) from None
        if record is None:
            return 0, None, None
        return record.version, record.x25519, record.secp256k1

    async def consent_params(self) -> ConsentParams:
        raw, _ = await self._read(CONSENT_PARAMS_QUERY, b"")
        return decode_consent_params(raw) if raw else ConsentParams()

    async def offer(self, kind: str) -> Offer | None:
        raw, _ = await self._read(OFFER_QUERY, self.address + kind.encode())
        return decode_offer(raw) if raw else None
