"""VoxClient: the blocking client. Every method runs a flow of voxpop.client._core over httpx."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from voxpop.chain.module import Msg
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.client import _core as core
from voxpop.client import directory as directory_flows
from voxpop.client.directory import PublishedKeys
from voxpop.client.errors import NodeUnreachableError
from voxpop.client.light import LightClient
from voxpop.client.light_rules import LightBlock
from voxpop.client.lists import ProvenList, list_flow
from voxpop.client.tx import Message
from voxpop.client.types import AccountInfo, QueryResult, StreamEvent
from voxpop.crypto.address import decode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.node.service import BlockRecord, BroadcastResult, NodeStatus, TxRecord

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:1317"
DEFAULT_TIMEOUT = 45.0  # above the solo node's 30 s commit timeout


class VoxClient:
    """A client of one node's HTTP API.

    `trusted_validator_keys` are the Ed25519 keys whose header signatures make proofs acceptable;
    left None they are learned from the node's status on first use. `chain_id` likewise.
    `light`: the LightClient that verifies proofs under CometBFT (its trusted root, witnesses);
    left None, one is made on first use, trusting the node's latest header.
    `max_height_lag`: a proven "latest" answer more than this many blocks below the highest height
    the client has verified raises StaleResponseError (an old state replayed).
    Use as a context manager, or call close().
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        chain_id: str | None = None,
        trusted_validator_keys: Iterable[bytes] | None = None,
        transport: httpx.BaseTransport | None = None,
        max_height_lag: int = core.DEFAULT_MAX_HEIGHT_LAG,
        light: LightClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        keys = frozenset(trusted_validator_keys) if trusted_validator_keys is not None else None
        self.trust = core.Trust(chain_id, keys, max_height_lag=max_height_lag, light=light)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    # --- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> VoxClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- the driver -----------------------------------------------------------------------------

    def _run(self, flow: core.Flow[T]) -> T:
        answer: Any = None
        unreachable: NodeUnreachableError | None = None
        try:
            while True:
                # An unreachable node is raised inside the flow, which may go on without it
                effect = flow.send(answer) if unreachable is None else flow.throw(unreachable)
                unreachable = None
                if isinstance(effect, core.HttpRequest):
                    try:
                        answer = self._send(effect)
                    except NodeUnreachableError as exc:
                        unreachable = exc
                else:
                    time.sleep(effect.seconds)
                    answer = time.monotonic()
        except StopIteration as done:
            result: T = done.value
            return result

    def _send(self, req: core.HttpRequest) -> core.HttpResponse:
        base = req.base_url.rstrip("/") if req.base_url else self.base_url
        url = base + req.path if req.base_url else req.path
        try:
            resp = self._http.request(req.method, url, params=req.params, json=req.json)
        except httpx.HTTPError as exc:
            raise NodeUnreachableError(f"{base}: {exc!r}") from exc
        return core.HttpResponse(resp.status_code, resp.content)

    # --- the API --------------------------------------------------------------------------------

    def status(self) -> NodeStatus:
        return self._run(core.status_flow())

    def block(self, height: int | None = None) -> BlockRecord:
        """The block at `height`, or the latest. Raises NotFoundError (block_not_found)."""
        return self._run(core.block_flow(height))

    def tx(self, tx_hash: bytes | str) -> TxRecord:
        """A committed tx and its result. Raises NotFoundError (tx_not_found)."""
        return self._run(core.tx_flow(tx_hash))

    def broadcast(self, tx: bytes, mode: core.Mode = "sync") -> BroadcastResult:
        """Raises TxRejectedError if check_tx refuses the tx."""
        return self._run(core.broadcast_flow(tx, mode))

    def broadcast_batch(self, txs: Sequence[bytes]) -> list[BroadcastResult]:
        """One result per tx, in order, rejections included (as non-zero codes)."""
        return self._run(core.broadcast_batch_flow(txs))

    def query(
        self, path: str, data: bytes = b"", height: int | None = None, prove: bool = False
    ) -> QueryResult:
        """The generic ABCI query; with prove, verified or ProofVerificationError."""
        return self._run(core.query_flow(self.trust, path, data, height, prove))

    def query_list(self, path: str, owner: bytes, prove: bool = True) -> ProvenList:
        """A list query at the latest height (e.g. `/staking/delegations_by_delegator`); with
        prove, every item and the list's completeness verified, or ProofVerificationError."""
        return self._run(list_flow(self.trust, path, owner, prove))

    def delegations(self, delegator: str | bytes, prove: bool = True) -> ProvenList:
        """The delegator's delegations (items: operator id, delegation entry), proven complete."""
        owner = decode_address(core.address_text(delegator))
        return self.query_list("/staking/delegations_by_delegator", owner, prove)

    def account(
        self, address: str | bytes, height: int | None = None, prove: bool = False
    ) -> AccountInfo:
        """Balance, sequence, public key; with prove, verified or ProofVerificationError."""
        return self._run(core.account_flow(self.trust, address, height, prove))

    def balance(self, address: str | bytes, height: int | None = None, prove: bool = False) -> int:
        """The balance in uvox."""
        return self.account(address, height, prove).balance

    def directory_keys(
        self, address: str | bytes, height: int | None = None, prove: bool = True
    ) -> PublishedKeys:
        """The account's current encryption keys (record None: never published). Proven by
        default: a node must not be able to make you encrypt to someone else's key."""
        return self._run(directory_flows.directory_keys_flow(self.trust, address, height, prove))

    def directory_key_version(
        self, address: str | bytes, version: int, height: int | None = None, prove: bool = True
    ) -> PublishedKeys:
        """The account's keys of `version` (record None: never published or no longer kept)."""
        return self._run(
            directory_flows.key_version_flow(self.trust, address, version, height, prove)
        )

    def encrypt_to(self, address: str | bytes, plaintext: bytes) -> bytes:
        """A sealed envelope only `address` can open, to its proven current X25519 key.

        Raises NoPublishedKeysError, ProofVerificationError.
        """
        return self._run(directory_flows.encrypt_to_flow(self.trust, address, plaintext))

    def publish_keys(
        self,
        key: PrivateKey,
        fee: int | None = None,
        gas_limit: int | None = None,
        mode: core.Mode = "commit",
        *,
        memo: str = "",
    ) -> BroadcastResult:
        """Publish the next version of the encryption keys derived from `key` (a rotation if it
        has published before). Raises TxRejectedError."""
        return self._run(
            directory_flows.publish_keys_flow(
                self.trust, key, fee=fee, gas_limit=gas_limit, mode=mode, memo=memo
            )
        )

    def auth_params(self) -> AuthParams:
        return self._run(core.auth_params_flow(self.trust))

    def base_price(self) -> int:
        """The fee market's base gas price the next block charges (uvox per gas x 10^12)."""
        return self._run(core.base_price_flow(self.trust))[0]

    def estimate_fee(self, gas_limit: int, tip_price: int | None = None) -> int:
        """The fee a tx of `gas_limit` gets by default (docs/protocol/fees.md): the minimum at
        the floor; above it the base price with a margin plus a tip (`tip_price` per gas)."""
        return self._run(core.estimate_fee_flow(self.trust, gas_limit, tip_price))

    def execute(
        self,
        key: PrivateKey,
        msgs: Sequence[Message | Msg],
        fee: int | None = None,
        gas_limit: int | None = None,
        mode: core.Mode = "commit",
        *,
        memo: str = "",
        sequence: int | None = None,
        fee_granter: bytes = b"",
    ) -> BroadcastResult:
        """Sign `msgs` (chain Msg objects or (type, fields) pairs) with `key` in one tx and
        broadcast it. The fee defaults to `estimate_fee(gas_limit)`, from the base gas price;
        with `fee_granter` (a 20-byte address) that account's fee allowance pays it.

        Raises TxRejectedError, ValueError.
        """
        return self._run(
            core.execute_flow(
                self.trust,
                key,
                msgs,
                fee=fee,
                gas_limit=gas_limit,
                mode=mode,
                memo=memo,
                sequence=sequence,
                fee_granter=fee_granter,
            )
        )

    def send(
        self,
        key: PrivateKey,
        to: str | bytes,
        amount: int,
        fee: int | None = None,
        gas_limit: int | None = None,
        mode: core.Mode = "commit",
        *,
        memo: str = "",
        sequence: int | None = None,
    ) -> BroadcastResult:
        """Send `amount` uvox from `key`'s account to `to` (bech32 text or 20 raw bytes).

        Raises TxRejectedError, AddressError, ValueError.
        """
        return self._run(
            core.send_flow(
                self.trust,
                key,
                to,
                amount,
                fee=fee,
                gas_limit=gas_limit,
                mode=mode,
                memo=memo,
                sequence=sequence,
            )
        )

    def verified_header(self, height: int) -> LightBlock:
        """CometBFT's signed header at `height` and its validators, verified by the light client
        from its trusted root (cross-checked with its witnesses). Raises LightClientError."""
        return self._run(core.verified_header_flow(self.trust, height))

    def wait_for_tx(
        self, tx_hash: bytes | str, timeout: float = 30.0, interval: float = 0.25
    ) -> TxRecord:
        """Raises TxWaitTimeoutError if the tx is not committed within `timeout` seconds."""
        return self._run(core.wait_for_tx_flow(tx_hash, timeout, interval))

    def stream(self, kinds: Collection[str] = core.STREAM_KINDS) -> Iterator[StreamEvent]:
        """Blocks and committed txs as they come (Server-Sent Events), until closed."""
        req = core.stream_request(kinds)
        timeout = httpx.Timeout(self._http.timeout.connect, read=None)
        try:
            with self._http.stream("GET", req.path, params=req.params, timeout=timeout) as resp:
                if resp.status_code != 200:
                    resp.read()
                    raise core.api_error(core.HttpResponse(resp.status_code, resp.content))
                decoder = core.SSEDecoder()
                for line in resp.iter_lines():
                    event = decoder.feed(line)
                    if event is not None:
                        yield event
        except httpx.HTTPError as exc:
            raise NodeUnreachableError(f"{self.base_url}: {exc!r}") from exc
