"""The client's logic without I/O, shared by the sync and the async client.

Each operation is a generator (a "flow") that yields what it needs done and receives the outcome:

    HttpRequest -> HttpResponse     (the driver sends it over HTTP)
    Sleep       -> float            (the driver sleeps, then answers time.monotonic())

and finally returns its result. VoxClient drives flows with blocking httpx, AsyncVoxClient with
async httpx; everything else (URLs, parsing, errors, tx building, proof checks) lives here once.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from voxpop.chain.abci import Event, EventAttribute, ExecTxResult
from voxpop.chain.encoding import decode_canonical, decode_uint
from voxpop.chain.errors import CODESPACE, ChainError, HeightNotAvailableError
from voxpop.chain.module import Msg
from voxpop.chain.modules.auth.state import AuthParams, decode_account
from voxpop.chain.modules.feemarket.state import FeemarketParams
from voxpop.chain.tx import tx_hash
from voxpop.client.effects import Effect as Effect
from voxpop.client.effects import Flow as Flow
from voxpop.client.effects import HttpRequest as HttpRequest
from voxpop.client.effects import HttpResponse as HttpResponse
from voxpop.client.effects import Sleep as Sleep
from voxpop.client.effects import api_error as api_error
from voxpop.client.effects import call as call
from voxpop.client.effects import decode_json as decode_json
from voxpop.client.errors import (
    NotFoundError,
    ProofVerificationError,
    ProtocolError,
    StaleResponseError,
    TxWaitTimeoutError,
)
from voxpop.client.light import LightClient
from voxpop.client.light_rules import LightBlock
from voxpop.client.tx import (
    DEFAULT_SEND_GAS,
    Message,
    build_tx,
    compute_min_fee,
    estimate_fee,
    msg_send,
    sign_tx,
)
from voxpop.client.types import AccountInfo, ProvenEntry, QueryResult, StreamEvent
from voxpop.client.verify import expected_query_key, verify_block, verify_entry
from voxpop.crypto.address import decode_address, encode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.node.service import (
    BlockHeader,
    BlockRecord,
    BroadcastResult,
    NodeStatus,
    TxRecord,
)

T = TypeVar("T")
Mode = Literal["sync", "commit"]
STREAM_KINDS = ("block", "tx")
# How far below the highest verified height a proven "latest" answer may be. An honest node never
# goes backwards (it answers at its last committed height); the slack is for a client spread over
# load-balanced nodes, one or two blocks apart.
DEFAULT_MAX_HEIGHT_LAG = 2
MAX_VERIFIED_HEADERS = 64


@dataclass(slots=True)
class Trust:
    """What a client believes about the chain: its id and the validator keys that sign headers.

    Left None, both are learned from the node's status the first time they are needed (trust on
    first use); pass them to the client to trust nothing the node says about itself.

    Under CometBFT proofs are checked by `light` (a LightClient: from a trusted root, by the
    validators' signatures); made on first use, trusting the node's latest header, if not given.

    `highest_height` is the highest height of a header this client has verified: the chain is at
    least that high, so a proven "latest" answer more than `max_height_lag` blocks below it is
    stale (StaleResponseError).
    """

    chain_id: str | None = None
    validator_keys: frozenset[bytes] | None = None
    node_mode: str | None = None
    highest_height: int = 0
    max_height_lag: int = DEFAULT_MAX_HEIGHT_LAG
    light: LightClient | None = None
    # Solo headers already verified, by height (a committed header never changes): a second
    # proof at the same height costs no fetch and no signature check
    verified_headers: dict[int, BlockRecord] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if type(self.max_height_lag) is not int or self.max_height_lag < 0:
            raise ValueError("max_height_lag must be a non-negative integer")


def check_fresh(trust: Trust, height: int) -> None:
    """Raise StaleResponseError if a "latest" answer at `height` is older than the client allows."""
    # Verify the answer does not go back beyond the tolerance from what this client has verified
    if height < trust.highest_height - trust.max_height_lag:
        raise StaleResponseError(
            f'the node answered "latest" at height {height}, but this client has verified '
            f"height {trust.highest_height} (max lag {trust.max_height_lag})",
            height,
            trust.highest_height,
        )


# --- requests and responses -------------------------------------------------------------------


def parse(fn: Callable[[Any], T], data: Any, what: str) -> T:
    """Apply a parser, turning any shape error into ProtocolError."""
    try:
        return fn(data)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, binascii.Error) as exc:
        raise ProtocolError(f"unexpected {what} from the node: {exc!r}") from None


def unhex(text: Any) -> bytes:
    if not isinstance(text, str):
        raise TypeError("expected hex text")
    return bytes.fromhex(text)


def unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise TypeError("expected base64 text")
    return base64.b64decode(text, validate=True)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def parse_events(data: Any) -> tuple[Event, ...]:
    return tuple(
        Event(
            str(e["type"]),
            tuple(
                EventAttribute(str(a["key"]), str(a["value"]), bool(a.get("index", True)))
                for a in e["attributes"]
            ),
        )
        for e in data
    )


def parse_exec_result(d: Any) -> ExecTxResult:
    return ExecTxResult(
        code=int(d["code"]),
        log=str(d["log"]),
        codespace=str(d["codespace"]),
        gas_wanted=int(d["gas_wanted"]),
        gas_used=int(d["gas_used"]),
        events=parse_events(d["events"]),
    )


def parse_broadcast_result(d: Any) -> BroadcastResult:
    return BroadcastResult(
        tx_hash=unhex(d["hash"]),
        code=int(d["code"]),
        log=str(d["log"]),
        codespace=str(d["codespace"]),
        height=int(d["height"]),
        gas_wanted=int(d["gas_wanted"]),
        gas_used=int(d["gas_used"]),
        events=parse_events(d["events"]),
    )


def parse_tx_record(d: Any) -> TxRecord:
    return TxRecord(
        hash=unhex(d["hash"]),
        height=int(d["height"]),
        index=int(d["index"]),
        tx=unb64(d["tx"]),
        result=parse_exec_result(d["result"]),
    )


def parse_header(h: Any) -> BlockHeader:
    return BlockHeader(
        chain_id=str(h["chain_id"]),
        height=int(h["height"]),
        time_unix=int(h["time_unix"]),
        last_block_hash=unhex(h["last_block_hash"]),
        data_hash=unhex(h["data_hash"]),
        app_hash=unhex(h["app_hash"]),
        proposer=unhex(h["proposer"]),
        num_txs=int(h["num_txs"]),
    )


def parse_block(d: Any) -> BlockRecord:
    return BlockRecord(
        header=parse_header(d["header"]),
        hash=unhex(d["hash"]),
        txs=tuple(unb64(t) for t in d["txs"]),
        results=tuple(parse_exec_result(r) for r in d["results"]),
        signature=unhex(d["signature"]),
        signer_pub_key=unhex(d["signer_pub_key"]),
        events=parse_events(d.get("events", [])),
    )


def parse_signed_header(d: Any) -> BlockRecord:
    return BlockRecord(
        header=parse_header(d["header"]),
        hash=unhex(d["hash"]),
        txs=(),
        results=(),
        signature=unhex(d["signature"]),
        signer_pub_key=unhex(d["signer_pub_key"]),
        events=(),
    )


def parse_status(d: Any) -> NodeStatus:
    return NodeStatus(
        chain_id=str(d["chain_id"]),
        node_mode=str(d["node_mode"]),
        latest_height=int(d["latest_height"]),
        latest_block_hash=unhex(d["latest_block_hash"]),
        latest_app_hash=unhex(d["latest_app_hash"]),
        latest_block_time_unix=int(d["latest_block_time_unix"]),
        mempool_size=int(d["mempool_size"]),
        validator_pub_keys=tuple(unhex(k) for k in d["validator_pub_keys"]),
        extra=dict(d.get("extra", {})),
    )


def parse_query(d: Any) -> QueryResult:
    return QueryResult(
        key=unhex(d["key"]),
        value=unhex(d["value"]),
        proof=unhex(d["proof"]),
        height=int(d["height"]),
        verified=False,
    )


def parse_entry(d: Any) -> ProvenEntry:
    return ProvenEntry(key=unhex(d["key"]), value=unhex(d["value"]), proof=unhex(d["proof"]))


def parse_account(d: Any) -> AccountInfo:
    proof = d.get("proof")
    pub_key = d.get("pub_key")
    return AccountInfo(
        address=str(d["address"]),
        balance=int(d["balance"]),
        sequence=int(d["sequence"]),
        pub_key=unhex(pub_key) if pub_key else None,
        height=int(d["height"]),
        balance_entry=parse_entry(proof["balance"]) if proof else None,
        account_entry=parse_entry(proof["account"]) if proof else None,
    )


def height_params(height: int | None, prove: bool) -> dict[str, str]:
    params = {"prove": "true" if prove else "false"}
    if height is not None:
        params["height"] = str(height)
    return params


def normalize_hash(value: bytes | str) -> str:
    """A tx hash as 64 lowercase hex digits. Raises ValueError."""
    raw = value if isinstance(value, bytes) else bytes.fromhex(value)
    if len(raw) != 32:
        raise ValueError("a tx hash is 32 bytes (64 hex digits)")
    return raw.hex()


def address_text(address: str | bytes) -> str:
    """The bech32 text of an address given as text or 20 raw bytes. Raises AddressError."""
    if isinstance(address, bytes):
        return encode_address(address)
    decode_address(address)
    return address


# --- flows ------------------------------------------------------------------------------------


def status_flow() -> Flow[NodeStatus]:
    data = yield from call(HttpRequest("GET", "/v1/status"))
    return parse(parse_status, data, "status")


def block_flow(height: int | None) -> Flow[BlockRecord]:
    """The block at `height`, or the latest with None."""
    path = "/v1/blocks/latest" if height is None else f"/v1/blocks/{int(height)}"
    data = yield from call(HttpRequest("GET", path))
    return parse(parse_block, data, "block")


def signed_header_flow(height: int) -> Flow[BlockRecord]:
    """The block at `height` without its txs, results and events (`/v1/blocks/{h}/header`):
    enough to check its signed state root."""
    data = yield from call(HttpRequest("GET", f"/v1/blocks/{int(height)}/header"))
    return parse(parse_signed_header, data, "signed header")


def tx_flow(hash_: bytes | str) -> Flow[TxRecord]:
    data = yield from call(HttpRequest("GET", f"/v1/txs/{normalize_hash(hash_)}"))
    return parse(parse_tx_record, data, "tx record")


def broadcast_flow(tx: bytes, mode: Mode) -> Flow[BroadcastResult]:
    """Broadcast signed tx bytes. Raises TxRejectedError if check_tx refuses the tx. In commit
    mode a result with height 0 means the tx was accepted but not committed in time."""
    resp = yield HttpRequest("POST", "/v1/txs", json={"tx": b64(tx), "mode": mode})
    assert isinstance(resp, HttpResponse)
    if resp.status >= 400:
        raise api_error(resp, rejection=True)
    return parse(parse_broadcast_result, decode_json(resp), "broadcast result")


def broadcast_batch_flow(txs: Sequence[bytes]) -> Flow[list[BroadcastResult]]:
    """check_tx each tx in order; one result per tx, rejections included (never raised)."""
    data = yield from call(
        HttpRequest("POST", "/v1/txs/batch", json={"txs": [b64(tx) for tx in txs]})
    )
    results = parse(lambda d: [parse_broadcast_result(r) for r in d["results"]], data, "results")
    # Verify the node answered every tx, in order
    if [r.tx_hash for r in results] != [tx_hash(tx) for tx in txs]:
        raise ProtocolError("the batch results do not match the txs sent")
    return results


def trust_flow(trust: Trust) -> Flow[Trust]:
    """Fill in what the client does not yet know from the node's status (trust on first use)."""
    if trust.chain_id is None or trust.validator_keys is None:
        status = yield from status_flow()
        trust.node_mode = status.node_mode
        if trust.chain_id is None:
            trust.chain_id = status.chain_id
        if trust.validator_keys is None:
            # Verify the node names at least one validator to check headers against
            if not status.validator_pub_keys:
                raise ProofVerificationError(
                    "the node reports no validator keys; pass trusted_validator_keys"
                )
            trust.validator_keys = frozenset(status.validator_pub_keys)
    return trust


def verified_block_flow(trust: Trust, height: int) -> Flow[BlockRecord]:
    """The block at `height`, after checking its hash and its signature by a trusted key."""
    yield from trust_flow(trust)
    assert trust.chain_id is not None and trust.validator_keys is not None
    # Verify the node signs its headers the solo way (under CometBFT the light client verifies)
    if trust.node_mode not in (None, "solo"):
        raise ProofVerificationError(
            f"solo signed blocks only; verify this {trust.node_mode!r} node's with the light client"
        )
    block = trust.verified_headers.get(height)
    if block is not None:
        return block
    try:
        block = yield from signed_header_flow(height)
    except NotFoundError:
        raise ProofVerificationError(f"the node has no block {height} to verify against") from None
    verify_block(block, height=height, chain_id=trust.chain_id, trusted_keys=trust.validator_keys)
    trust.highest_height = max(trust.highest_height, height)
    if len(trust.verified_headers) >= MAX_VERIFIED_HEADERS:
        del trust.verified_headers[min(trust.verified_headers)]
    trust.verified_headers[height] = block
    return block


def light_client_flow(trust: Trust) -> Flow[LightClient]:
    """The trust's light client, made on first use (trusting the node's latest header)."""
    if trust.light is None:
        yield from trust_flow(trust)
        # Verify the node is under CometBFT (a solo node signs its blocks; see verified_block_flow)
        if trust.node_mode == "solo":
            raise ProofVerificationError("a solo node has no CometBFT headers; verify its blocks")
        trust.light = LightClient(chain_id=trust.chain_id)
    return trust.light


def verified_header_flow(trust: Trust, height: int) -> Flow[LightBlock]:
    """CometBFT's signed header at `height` with its validators, verified by the light client."""
    light = yield from light_client_flow(trust)
    return (yield from light.verified_flow(height))


def verified_app_hash_flow(trust: Trust, height: int) -> Flow[bytes]:
    """The verified state root after block `height`: the solo header of `height`, signed by a
    trusted key; under CometBFT the header of `height + 1` (a header commits to the state before
    its block), verified by the light client. Raises ProofVerificationError."""
    yield from trust_flow(trust)
    if trust.node_mode is None and trust.light is not None:
        # A light client was configured before knowing the node's kind (e.g. from a genesis file,
        # which serves both): the kind decides only how headers are checked, not what is trusted
        status = yield from status_flow()
        trust.node_mode = status.node_mode
    if trust.node_mode in (None, "solo"):
        block = yield from verified_block_flow(trust, height)
        return block.header.app_hash
    try:
        verified = yield from verified_header_flow(trust, height + 1)
    except NotFoundError:
        raise ProofVerificationError(
            f"the node has no signed header {height + 1} to verify state {height} against"
        ) from None
    trust.highest_height = max(trust.highest_height, height)
    return verified.signed_header.header.app_hash


def query_flow(
    trust: Trust, path: str, data: bytes, height: int | None, prove: bool
) -> Flow[QueryResult]:
    """The generic ABCI query. With prove, the answer is verified or ProofVerificationError."""
    params = {"path": path, "data": data.hex(), **height_params(height, prove)}
    body = yield from call(HttpRequest("GET", "/v1/query", params=params))
    result = parse(parse_query, body, "query result")
    if not prove:
        return result
    key = expected_query_key(path, data)
    # Verify the node read the key this query names, at the height asked for (if any)
    if result.key != key:
        raise ProofVerificationError(
            f"the node answered for key {result.key.hex()}, not {key.hex()}"
        )
    if height and result.height != height:
        raise ProofVerificationError(f"asked for height {height}, got {result.height}")
    if not height:
        check_fresh(trust, result.height)
    app_hash = yield from verified_app_hash_flow(trust, result.height)
    verify_entry(app_hash, key, result.value, result.proof)
    return QueryResult(result.key, result.value, result.proof, result.height, verified=True)


def account_flow(
    trust: Trust, address: str | bytes, height: int | None, prove: bool
) -> Flow[AccountInfo]:
    """Balance, sequence and public key. With prove, every field is checked against the proven
    state entries and those against the signed block header, or ProofVerificationError."""
    text = address_text(address)
    body = yield from call(
        HttpRequest("GET", f"/v1/accounts/{text}", params=height_params(height, prove))
    )
    info = parse(parse_account, body, "account")
    if not prove:
        return info
    bal, acc = info.balance_entry, info.account_entry
    # Verify the node sent proofs, for the keys of this address, at the height asked for
    if bal is None or acc is None:
        raise ProofVerificationError("the node sent no proofs")
    raw = decode_address(text)
    if bal.key != expected_query_key("/bank/balance", raw):
        raise ProofVerificationError("the balance proof is for another key")
    if acc.key != expected_query_key("/auth/account", raw):
        raise ProofVerificationError("the account proof is for another key")
    if info.address != text or (height and info.height != height):
        raise ProofVerificationError("the node answered for another address or height")
    if not height:
        check_fresh(trust, info.height)
    # Verify the reported fields are exactly what the proven entries hold
    balance = decode_uint(bal.value) if bal.value else 0
    try:
        account = decode_account(acc.value) if acc.value else None
    except (ChainError, ValueError, TypeError):
        raise ProofVerificationError("the proven account entry is malformed") from None
    sequence = account.sequence if account else 0
    pub_key = account.pub_key if account and account.pub_key else None
    if (info.balance, info.sequence, info.pub_key) != (balance, sequence, pub_key):
        raise ProofVerificationError("the reported account differs from the proven state")
    app_hash = yield from verified_app_hash_flow(trust, info.height)
    verify_entry(app_hash, bal.key, bal.value, bal.proof)
    verify_entry(app_hash, acc.key, acc.value, acc.proof)
    return AccountInfo(text, balance, sequence, pub_key, info.height, bal, acc, verified=True)


def auth_params_flow(trust: Trust) -> Flow[AuthParams]:
    """The chain's tx parameters (minimum gas price, limits). Before the first block there is
    no committed state to read, and the defaults are returned."""
    try:
        result = yield from query_flow(trust, "/auth/params", b"", None, False)
    except NotFoundError as exc:
        if exc.numeric_code == HeightNotAvailableError.code and exc.codespace == CODESPACE:
            return AuthParams()
        raise
    if not result.value:
        return AuthParams()
    try:
        return AuthParams.from_value(decode_canonical(result.value))
    except ChainError as exc:
        raise ProtocolError(f"malformed auth params: {exc.message}") from None


def base_price_flow(trust: Trust) -> Flow[tuple[int, int]]:
    """(the fee market's base gas price the next block charges, its floor), in uvox per gas x
    10^12. Before the first block: the default floor, twice."""
    try:
        params_result = yield from query_flow(trust, "/feemarket/params", b"", None, False)
        base_result = yield from query_flow(trust, "/feemarket/base_price", b"", None, False)
    except NotFoundError as exc:
        if exc.numeric_code == HeightNotAvailableError.code and exc.codespace == CODESPACE:
            floor = FeemarketParams().min_base_price
            return floor, floor
        raise
    try:
        params = (
            FeemarketParams.from_value(decode_canonical(params_result.value))
            if params_result.value
            else FeemarketParams()
        )
    except ChainError as exc:
        raise ProtocolError(f"malformed feemarket params: {exc.message}") from None
    # The floor is stored as no key; a stored price is kept within the params' bounds
    stored = decode_uint(base_result.value) if base_result.value else params.min_base_price
    return min(max(stored, params.min_base_price), params.max_base_price), params.min_base_price


def estimate_fee_flow(trust: Trust, gas_limit: int, tip_price: int | None = None) -> Flow[int]:
    """The default fee for `gas_limit` (client.tx.estimate_fee): the chain's minimum fee while
    the base price is at its floor; above it, the base price with a margin plus a tip."""
    params = yield from auth_params_flow(trust)
    base, floor = yield from base_price_flow(trust)
    min_fee = compute_min_fee(gas_limit, params.min_gas_price_num, params.min_gas_price_den)
    return estimate_fee(gas_limit, base, floor, min_fee, tip_price=tip_price)


def sequence_flow(trust: Trust, address: str) -> Flow[int]:
    """The sequence the account's next tx needs (0 before the chain's first block)."""
    try:
        info = yield from account_flow(trust, address, None, False)
    except NotFoundError as exc:
        if exc.numeric_code == HeightNotAvailableError.code and exc.codespace == CODESPACE:
            return 0
        raise
    return info.sequence


def execute_flow(
    trust: Trust,
    key: PrivateKey,
    msgs: Sequence[Message | Msg],
    *,
    fee: int | None,
    gas_limit: int | None,
    mode: Mode,
    memo: str,
    sequence: int | None,
    fee_granter: bytes = b"",
) -> Flow[BroadcastResult]:
    """Sign `msgs` with `key` in one tx and broadcast it: the path every tx of the client takes.

    Fetches what is not given: the chain id, the sequence, and the fee (estimated from the
    chain's base gas price: `estimate_fee_flow`). With `fee_granter`, that account's fee
    allowance pays the fee. Raises TxRejectedError, ValueError.
    """
    # Verify there is something to sign before touching the network
    if not msgs:
        raise ValueError("a tx needs at least one message")
    raw_msgs = [m.raw() if isinstance(m, Msg) else m for m in msgs]
    yield from trust_flow(trust)
    assert trust.chain_id is not None
    gas = DEFAULT_SEND_GAS if gas_limit is None else gas_limit
    if sequence is None:
        sequence = yield from sequence_flow(trust, encode_address(key.public_key.address))
    if fee is None:
        fee = yield from estimate_fee_flow(trust, gas)
    body = build_tx(
        chain_id=trust.chain_id,
        pub_key=key.public_key.raw,
        sequence=sequence,
        msgs=raw_msgs,
        fee=fee,
        gas_limit=gas,
        memo=memo,
        fee_granter=fee_granter,
    )
    return (yield from broadcast_flow(sign_tx(body, key), mode))


def send_flow(
    trust: Trust,
    key: PrivateKey,
    to: str | bytes,
    amount: int,
    *,
    fee: int | None,
    gas_limit: int | None,
    mode: Mode,
    memo: str,
    sequence: int | None,
) -> Flow[BroadcastResult]:
    """Sign and broadcast a bank/Send of `amount` uvox from `key`'s account to `to`.

    Raises TxRejectedError, AddressError, ValueError.
    """
    # Verify the amount and the recipient before touching the network
    if amount <= 0:
        raise ValueError("amount must be positive")
    recipient = decode_address(address_text(to))
    msg = msg_send(key.public_key.address, recipient, amount)
    return (
        yield from execute_flow(
            trust, key, [msg], fee=fee, gas_limit=gas_limit, mode=mode, memo=memo, sequence=sequence
        )
    )


def wait_for_tx_flow(hash_: bytes | str, timeout: float, interval: float) -> Flow[TxRecord]:
    """Poll until the tx is committed. Raises TxWaitTimeoutError after `timeout` seconds."""
    start = yield Sleep(0)
    while True:
        try:
            return (yield from tx_flow(hash_))
        except NotFoundError:
            pass
        now = yield Sleep(interval)
        if now - start >= timeout:
            raise TxWaitTimeoutError(f"tx {normalize_hash(hash_)} not committed in {timeout:g} s")


def stream_request(kinds: Collection[str]) -> HttpRequest:
    return HttpRequest("GET", "/v1/stream", params={"kinds": ",".join(kinds)})


# --- Server-Sent Events -----------------------------------------------------------------------


class SSEDecoder:
    """Turns the lines of an event stream into StreamEvents (the WHATWG rules, minus retry)."""

    def __init__(self) -> None:
        self._event = ""
        self._id = ""
        self._data: list[str] = []

    def feed(self, line: str) -> StreamEvent | None:
        """One line, without its line ending. Returns an event when a blank line completes one."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> StreamEvent | None:
        kind, data, self._event, self._data = self._event or "message", self._data, "", []
        if not data:
            return None
        try:
            payload = json.loads("\n".join(data))
        except ValueError:
            raise ProtocolError(f"a {kind} event's data is not JSON") from None
        if not isinstance(payload, dict):
            raise ProtocolError(f"a {kind} event's data is not a JSON object")
        return StreamEvent(kind=kind, id=self._id, data=payload)
