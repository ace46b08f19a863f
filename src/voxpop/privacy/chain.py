"""The privacy node's door to the chain: the storage node's ChainLink (proven reads, its own txs
one at a time) plus proven reads of grants, directory keys and its reencrypt offer.

Every read that decides whether the node re-encrypts is proven (the light client checks it
against a signed header): a node's API that lied about a grant could make it serve a revoked one
and be slashed for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from voxpop.chain.errors import ERRORS
from voxpop.chain.modules.consent.state import ConsentParams, Grant, decode_access, decode_grant
from voxpop.chain.modules.consent.state import decode_params as decode_consent_params
from voxpop.chain.modules.services.state import Offer, decode_offer
from voxpop.client import AsyncVoxClient, NotFoundError, TxRejectedError, VoxClientError
from voxpop.client.directory import decode_key_record
from voxpop.crypto.keys import PrivateKey
from voxpop.storage.chain import GRANT_QUERY, ChainLink, ChainUnavailableError, TxFailedError

KEYS_QUERY = "/directory/keys"
CONSENT_PARAMS_QUERY = "/consent/params"
ACCESS_QUERY = "/consent/access"
OFFER_QUERY = "/services/offer"
FEE_TTL = 2.0  # seconds a fee estimate is used (the base price moves by at most 1/8 a block)
FEE_REF_GAS = 10_000_000  # the gas the estimate is read for; a Record's fee is scaled from it


@dataclass(frozen=True, slots=True)
class ProvenGrant:
    """A grant as the chain held it at `height` (None: no such grant), its proof verified."""

    grant: Grant | None
    height: int


class PrivacyLink(ChainLink):
    """Reads go through a client of their own: a request waiting for a grant read must not
    queue behind the node's txs. The access records' txs are signed and sequenced by the
    recorder (several in flight), which broadcasts and follows them through the calls below."""

    def __init__(self, url: str, account: PrivateKey, chain_id: str | None = None) -> None:
        super().__init__(url, account, chain_id)
        self.reader = AsyncVoxClient(url, chain_id=chain_id, timeout=15.0)
        self._chain_id = chain_id or ""
        self._fee_ref: int | None = None  # the fee for FEE_REF_GAS, for FEE_TTL seconds
        self._fees_at = 0.0

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

    # --- the recorder's txs ----------------------------------------------------------------------

    async def broadcast(self, tx: bytes) -> None:
        """Broadcast signed tx bytes; returns once check_tx accepted them. Raises TxFailedError
        (refused at check: `code`), ChainUnavailableError."""
        try:
            await self.client.broadcast(tx, "sync")
        except TxRejectedError as exc:
            raise TxFailedError(exc.code, exc.message) from None
        except VoxClientError as exc:
            raise ChainUnavailableError(f"tx not sent: {exc}") from None

    async def landed(self, tx_hash: bytes) -> tuple[int, str] | None:
        """(height, error name, "" if it succeeded) of a committed tx; None if not (yet) in a
        block. Raises ChainUnavailableError."""
        try:
            record = await self.client.tx(tx_hash)
        except NotFoundError:
            return None
        except VoxClientError as exc:
            raise ChainUnavailableError(f"tx lookup: {exc}") from None
        self.last_height = max(self.last_height, record.height)
        code = record.result.code
        if code == 0:
            return record.height, ""
        error = ERRORS.get(code)
        return record.height, error.name if error else str(code)

    async def sequence(self) -> int:
        """The sequence this account's next tx needs, by the last committed block (not proven:
        a wrong one only makes a tx refused). Raises ChainUnavailableError."""
        try:
            return (await self.client.account(self.address)).sequence
        except NotFoundError:
            return 0
        except VoxClientError as exc:
            raise ChainUnavailableError(f"account read: {exc}") from None

    async def chain_id_once(self) -> str:
        """The chain id (read once). Raises ChainUnavailableError."""
        if not self._chain_id:
            self._chain_id = await self.chain_id()
        return self._chain_id

    async def fee(self, gas_limit: int) -> int:
        """The fee a tx of `gas_limit` needs now: the fee market's estimate for FEE_REF_GAS
        (`AsyncVoxClient.estimate_fee`, read again after FEE_TTL seconds or `forget_fees()`),
        scaled down and rounded up, which covers both the minimum fee and the base charge of
        the smaller limit. Raises ChainUnavailableError."""
        now = time.monotonic()
        if self._fee_ref is None or now - self._fees_at > FEE_TTL:
            try:
                self._fee_ref = await self.client.estimate_fee(FEE_REF_GAS)
            except VoxClientError as exc:
                raise ChainUnavailableError(f"fee estimate: {exc}") from None
            self._fees_at = now
        return -(-self._fee_ref * gas_limit // FEE_REF_GAS)

    def forget_fees(self) -> None:
        self._fee_ref = None

    async def recorded(self, grant_id: bytes, request_id: bytes) -> bool:
        """Whether the chain holds this node's answer to the request (proven)."""
        raw, _ = await self._read(ACCESS_QUERY, grant_id + request_id)
        return bool(raw) and self.address in decode_access(raw).nodes
