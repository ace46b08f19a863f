"""The HTTP API: a thin JSON adapter over a NodeService. It translates, and decides nothing.

The node's reads (get_block, get_tx, query, status) are synchronous and may block (the solo node
waits for its app lock while a block executes; the CometBFT node does HTTP), so they run in worker
threads and the event loop stays free for broadcasts and live feeds. OpenAPI is served at
/openapi.json and browsable at /docs.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Any

from fastapi import FastAPI, Query, Response, WebSocket
from starlette.concurrency import run_in_threadpool

from voxpop import __version__
from voxpop.api.errors import (
    BATCH_TOO_LARGE,
    BLOCK_NOT_FOUND,
    INVALID_REQUEST,
    TX_NOT_FOUND,
    ApiError,
    chain_error,
    install_error_handlers,
    query_error_status,
)
from voxpop.api.feeds import EventStreamResponse, serve_websocket_feed
from voxpop.api.gov import add_gov_routes
from voxpop.api.hosts import HostCheckMiddleware
from voxpop.api.inputs import (
    MAX_HEIGHT,
    parse_address,
    parse_base64,
    parse_height,
    parse_hex,
    parse_tx_hash,
)
from voxpop.api.light import add_light_routes
from voxpop.api.limits import BodyLimitMiddleware
from voxpop.api.models import (
    AccountModel,
    AccountProofModel,
    BatchBroadcastRequest,
    BatchBroadcastResponse,
    BlockModel,
    BroadcastRequest,
    ErrorResponse,
    ProvenEntryModel,
    QueryModel,
    SignedHeaderModel,
    StatusModel,
    TxRecordModel,
    TxResultModel,
    block_model,
    status_model,
    tx_record_model,
    tx_result_model,
)
from voxpop.api.ratelimit import RateLimitMiddleware
from voxpop.api.stream import (
    DEFAULT_MAX_SUBSCRIBERS,
    DEFAULT_MAX_SUBSCRIBERS_PER_CLIENT,
    DEFAULT_QUEUE_EVENTS,
    KINDS,
    StreamHub,
)
from voxpop.chain.abci import RequestQuery, ResponseQuery
from voxpop.chain.encoding import decode_uint
from voxpop.chain.errors import CODESPACE, CommitTimeoutError, MempoolFullError
from voxpop.chain.modules.auth.state import decode_account
from voxpop.crypto.address import encode_address
from voxpop.node.service import BroadcastMode, BroadcastResult, NodeService

MAX_BATCH_TXS = 10_000
MAX_BODY_BYTES = 2 * 1024 * 1024  # one tx of the format's largest size, base64, fits
MAX_BATCH_BODY_BYTES = 32 * 1024 * 1024
MAX_QUERY_DATA_HEX = 2048

BATCH_PATH = "/v1/txs/batch"
DEFAULT_RATE_PER_S = 500.0  # requests per second per client address
DEFAULT_RATE_BURST = 1_000

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Bad input, or a tx rejected by check_tx"},
    404: {"model": ErrorResponse, "description": "Not found"},
    413: {"model": ErrorResponse, "description": "Request too large"},
    422: {"model": ErrorResponse, "description": "Validation failed (invalid_request)"},
}

Height = Annotated[
    int | None,
    Query(ge=0, le=MAX_HEIGHT, description="State after this block; 0 or absent: the latest"),
]
Prove = Annotated[bool, Query(description="Return Merkle proofs against the block's app hash")]


def create_api(
    node: NodeService,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_batch_body_bytes: int = MAX_BATCH_BODY_BYTES,
    max_batch_txs: int = MAX_BATCH_TXS,
    rate_per_s: float = DEFAULT_RATE_PER_S,
    rate_burst: int = DEFAULT_RATE_BURST,
    allowed_hosts: Collection[str] = (),
    max_stream_subscribers: int = DEFAULT_MAX_SUBSCRIBERS,
    max_stream_subscribers_per_client: int = DEFAULT_MAX_SUBSCRIBERS_PER_CLIENT,
    stream_queue_events: int = DEFAULT_QUEUE_EVENTS,
) -> FastAPI:
    """The API application for `node`. Serve it with `serve_api`, or any ASGI server.

    Requests must name an IP address, `localhost` or one of `allowed_hosts` in Host (see
    hosts.py). Live feeds are bounded in total, per client, and in how far each may fall behind.
    """
    app = FastAPI(
        title="voxpop node API",
        version=__version__,
        description="Broadcast txs, read blocks, accounts and state (with Merkle proofs), "
        "and follow the chain live. Errors: see docs/api.md.",
        docs_url="/docs",
        redoc_url=None,
    )
    hub = StreamHub(
        node,
        max_subscribers=max_stream_subscribers,
        max_per_client=max_stream_subscribers_per_client,
        max_queue=stream_queue_events,
    )
    app.state.stream_hub = hub
    install_error_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=max_body_bytes,
        path_limits={BATCH_PATH: max_batch_body_bytes},
    )
    # A flood is refused before any body is read
    app.add_middleware(RateLimitMiddleware, rate_per_s=rate_per_s, burst=rate_burst)
    # Added last, so it runs first: a foreign Host costs nothing, not even a rate token
    app.add_middleware(HostCheckMiddleware, allowed_hosts=allowed_hosts)

    # --- txs ------------------------------------------------------------------------------------

    @app.post(
        "/v1/txs",
        response_model=TxResultModel,
        responses={
            **_ERRORS,
            202: {
                "model": TxResultModel,
                "description": "commit mode: accepted, not yet committed",
            },
            503: {"model": ErrorResponse, "description": "mempool_full: retry later"},
        },
        tags=["txs"],
    )
    async def broadcast_tx(req: BroadcastRequest, response: Response) -> TxResultModel:
        """Broadcast one signed tx. A tx rejected by check_tx is a 400 with its error code. In
        commit mode: 200 once the tx is in a block (with a non-zero code if it failed there), or
        202 if it passed check_tx but was not committed before the node's timeout."""
        tx = parse_base64(req.tx)
        mode = BroadcastMode(req.mode)
        result = await node.broadcast_tx(tx, mode)
        raise_if_rejected(result)
        if mode == BroadcastMode.COMMIT and result.height == 0:
            response.status_code = 202
        return tx_result_model(result)

    @app.post(BATCH_PATH, response_model=BatchBroadcastResponse, responses=_ERRORS, tags=["txs"])
    async def broadcast_batch(req: BatchBroadcastRequest) -> BatchBroadcastResponse:
        """Broadcast many txs, check_tx'd in order; answers after check_tx with one result per
        tx, rejections included. The throughput path."""
        # Verify the batch is within the count limit
        if len(req.txs) > max_batch_txs:
            raise ApiError(
                413, BATCH_TOO_LARGE, f"{len(req.txs)} txs; a batch holds at most {max_batch_txs}"
            )
        txs = [parse_base64(text, f"txs[{i}]") for i, text in enumerate(req.txs)]
        results = await node.broadcast_txs(txs)
        return BatchBroadcastResponse(results=[tx_result_model(r) for r in results])

    @app.get("/v1/txs/{tx_hash}", response_model=TxRecordModel, responses=_ERRORS, tags=["txs"])
    async def get_tx(tx_hash: str) -> TxRecordModel:
        """A committed tx with its result."""
        record = await run_in_threadpool(node.get_tx, parse_tx_hash(tx_hash))
        if record is None:
            raise ApiError(404, TX_NOT_FOUND, f"no committed tx with hash {tx_hash.lower()}")
        return tx_record_model(record)

    # --- accounts and queries -------------------------------------------------------------------

    @app.get(
        "/v1/accounts/{address}", response_model=AccountModel, responses=_ERRORS, tags=["state"]
    )
    async def get_account(
        address: str, height: Height = None, prove: Prove = False
    ) -> AccountModel:
        """An account's balance (uvox), sequence and public key; with prove=true, the raw state
        entries and their proofs against the app hash of the block at `height`."""
        raw = parse_address(address)
        balance, account = await run_in_threadpool(read_account, node, raw, height or 0, prove)
        decoded = decode_account(account.value) if account.value else None
        proof = None
        if prove:
            proof = AccountProofModel(balance=proven_entry(balance), account=proven_entry(account))
        return AccountModel(
            address=encode_address(raw),
            balance=decode_uint(balance.value) if balance.value else 0,
            sequence=decoded.sequence if decoded else 0,
            pub_key=decoded.pub_key.hex() if decoded and decoded.pub_key else None,
            height=balance.height,
            proof=proof,
        )

    @app.get("/v1/query", response_model=QueryModel, responses=_ERRORS, tags=["state"])
    async def query(
        path: Annotated[str, Query(min_length=1, max_length=256, description="e.g. /bank/supply")],
        data: Annotated[
            str, Query(max_length=MAX_QUERY_DATA_HEX, description="Query data, hex")
        ] = "",
        height: Height = None,
        prove: Prove = False,
    ) -> QueryModel:
        """The generic ABCI query: every path reads one state key, so any answer is provable."""
        resp = await run_in_threadpool(run_query, node, path, parse_hex(data), height or 0, prove)
        return QueryModel(
            key=resp.key.hex(), value=resp.value.hex(), proof=resp.proof.hex(), height=resp.height
        )

    # --- blocks and status ----------------------------------------------------------------------

    @app.get("/v1/blocks/latest", response_model=BlockModel, responses=_ERRORS, tags=["blocks"])
    async def get_latest_block() -> BlockModel:
        """The latest committed block."""
        status = await run_in_threadpool(node.status)
        return await run_in_threadpool(block_at, node, status.latest_height)

    @app.get("/v1/blocks/{height}", response_model=BlockModel, responses=_ERRORS, tags=["blocks"])
    async def get_block(height: str) -> BlockModel:
        """A committed block with its header, txs (base64), results and signature."""
        return await run_in_threadpool(block_at, node, parse_height(height))

    @app.get(
        "/v1/blocks/{height}/header",
        response_model=SignedHeaderModel,
        responses=_ERRORS,
        tags=["blocks"],
    )
    async def get_signed_header(height: str) -> SignedHeaderModel:
        """A committed block's header, hash and signature, without its txs: what a client needs
        to check a proof's state root."""
        block = await run_in_threadpool(block_at, node, parse_height(height), False)
        return SignedHeaderModel(
            header=block.header,
            hash=block.hash,
            signature=block.signature,
            signer_pub_key=block.signer_pub_key,
        )

    add_light_routes(app, node, _ERRORS)
    add_gov_routes(app, node, _ERRORS)

    @app.get("/v1/status", response_model=StatusModel, tags=["node"])
    async def get_status() -> StatusModel:
        """The chain id, node mode, latest block and validator keys."""
        return status_model(await run_in_threadpool(node.status))

    # --- live feed ------------------------------------------------------------------------------

    @app.get(
        "/v1/stream",
        responses={
            200: {"content": {"text/event-stream": {}}},
            **_ERRORS,
            429: {"model": ErrorResponse, "description": "rate_limited or too_many_streams"},
            503: {"model": ErrorResponse, "description": "streams_full: retry later"},
        },
        tags=["stream"],
        response_model=None,
    )
    async def stream(
        kinds: Annotated[str, Query(description="Comma-separated: block, tx")] = "block,tx",
    ) -> EventStreamResponse:
        """Server-Sent Events: `block` (height, hash, header, signature) and `tx` (the committed
        tx and its result), as they are committed. 429 `too_many_streams` or 503 `streams_full`
        when the client or the node has its most feeds open; a client that falls too far behind
        is disconnected."""
        return EventStreamResponse(hub, parse_kinds(kinds))

    @app.websocket("/v1/ws")
    async def websocket_stream(websocket: WebSocket, kinds: str = "block,tx") -> None:
        """The same feed over a WebSocket: one JSON message {"event", "id", "data"} per item."""
        try:
            wanted = parse_kinds(kinds)
        except ApiError as exc:
            await websocket.close(code=1008, reason=exc.message[:120])
            return
        await serve_websocket_feed(websocket, hub, wanted)

    return app


def request_shutdown(app: FastAPI) -> None:
    """End live feeds (SSE, WebSocket) so the server can stop without waiting on them."""
    hub: StreamHub = app.state.stream_hub
    hub.close()


# --- translation helpers ----------------------------------------------------------------------


def raise_if_rejected(result: BroadcastResult) -> None:
    """A tx refused before any block (non-zero code, height 0) is a client error (400), except a
    full mempool (503: retry later) and a commit timeout (the tx was accepted; answered 202)."""
    if result.code == 0 or result.height != 0:
        return
    ours = result.codespace in (CODESPACE, "")
    if ours and result.code == CommitTimeoutError.code:
        return
    if ours and result.code == MempoolFullError.code:
        err = chain_error(503, result.code, result.codespace, result.log)
        err.headers = {"Retry-After": "1"}
        raise err
    raise chain_error(400, result.code, result.codespace, result.log)


def read_account(
    node: NodeService, address: bytes, height: int, prove: bool
) -> tuple[ResponseQuery, ResponseQuery]:
    """The balance and account entries of `address`, both at one height."""
    balance = run_query(node, "/bank/balance", address, height, prove)
    # Read the account at the height the first read resolved to, so both match one state root
    account = run_query(node, "/auth/account", address, balance.height, prove)
    return balance, account


def run_query(node: NodeService, path: str, data: bytes, height: int, prove: bool) -> ResponseQuery:
    resp = node.query(RequestQuery(path=path, data=data, height=height, prove=prove))
    if resp.code != 0:
        raise chain_error(query_error_status(resp.code), resp.code, resp.codespace, resp.log)
    return resp


def proven_entry(resp: ResponseQuery) -> ProvenEntryModel:
    return ProvenEntryModel(key=resp.key.hex(), value=resp.value.hex(), proof=resp.proof.hex())


def block_at(node: NodeService, height: int, with_body: bool = True) -> BlockModel:
    block = node.get_block(height) if height > 0 else None
    if block is None:
        raise ApiError(404, BLOCK_NOT_FOUND, f"no committed block at height {height}")
    return block_model(block, with_body)


def parse_kinds(text: str) -> frozenset[str]:
    wanted = frozenset(k.strip() for k in text.split(",") if k.strip())
    # Verify every kind asked for exists
    if not wanted or not wanted <= KINDS:
        message = f"kinds must be a comma-separated subset of {sorted(KINDS)}"
        raise ApiError(422, INVALID_REQUEST, message)
    return wanted
