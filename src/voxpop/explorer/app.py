"""The explorer's pages: server-rendered (Jinja2, autoescaped), progressively enhanced with htmx
(the home page's new blocks poll a fragment every two seconds), under a strict CSP.

    /                      latest blocks (live) and txs; search
    /blocks, /blocks/{h}   blocks; one block with its txs, events and issuance
    /txs/{hash}            one tx: decoded messages, events, result
    /accounts/{address}    balance (asked of the node) and the account's txs
    /validators /proposals /offers /storage /supply
    /search?q=             a height, a tx or block hash, or an address
    /api/...               JSON twins of the block, tx and account pages; /v1/status

Every string from the chain (memos, monikers, descriptions, endpoints, logs) reaches the page
only through autoescaping: no template marks chain data safe.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from voxpop import __version__
from voxpop.client.amount import format_vox
from voxpop.crypto.address import is_address
from voxpop.explorer import reads
from voxpop.explorer.reads import HEX64
from voxpop.web.security import SecurityHeadersMiddleware
from voxpop.web.templating import make_templates, mount_web_static

STATIC_PATH = "/static/explorer"
MAX_HEIGHT = 2**63 - 1
BALANCE_TIMEOUT = 2.0


class PageError(Exception):
    """A request the explorer cannot answer: HTTP status, stable code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _vox(value: Any) -> str:
    return format_vox(int(value)) if isinstance(value, int) and value >= 0 else str(value)


def _time(value: Any) -> str:
    if not isinstance(value, int) or value <= 0:
        return "-"
    return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _bps(value: Any) -> str:
    return f"{int(value) // 100}.{int(value) % 100:02d} %"


def _short(value: Any, keep: int = 10) -> str:
    text = str(value)
    return text if len(text) <= 2 * keep + 1 else f"{text[:keep]}…{text[-keep:]}"


def create_explorer_app(
    engine: Engine,
    *,
    node_url: str | None,
    status: dict[str, Any] | None = None,
) -> FastAPI:
    """The explorer over the index `engine`; `node_url` answers balances (None: not shown).
    `status` is a live dict the indexer updates (shown at /v1/status)."""
    app = FastAPI(title="voxpop explorer", version=__version__, docs_url=None, redoc_url=None)
    app.add_middleware(SecurityHeadersMiddleware)
    mount_web_static(app)
    app.mount(STATIC_PATH, StaticFiles(packages=[("voxpop.explorer", "static")]), name="explorer")
    templates = make_templates("voxpop.explorer")
    templates.env.filters.update(vox=_vox, utc=_time, bps=_bps, short=_short)
    templates.env.globals.update(explorer_static=STATIC_PATH)
    live = status if status is not None else {}

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        if request.url.path.startswith(("/api/", "/v1/")):
            body = {"error": {"code": exc.code, "message": exc.message}}
            return JSONResponse(body, status_code=exc.status)
        context = {"code": exc.code, "message": exc.message}
        return templates.TemplateResponse(request, "error.html", context, status_code=exc.status)

    def read_block(height: int) -> dict[str, Any]:
        # Verify a height the index could hold
        if not 0 < height <= MAX_HEIGHT:
            raise PageError(400, "invalid_height", f"{height} is not a block height")
        with engine.connect() as conn:
            found = reads.block(conn, height)
        if found is None:
            raise PageError(404, "block_not_found", f"block {height} is not indexed (yet)")
        return found

    def read_tx(tx_hash: str) -> dict[str, Any]:
        # Verify a tx hash: 64 hex digits
        if not HEX64.match(tx_hash):
            raise PageError(400, "invalid_tx_hash", "a tx hash is 64 hex digits")
        with engine.connect() as conn:
            found = reads.tx(conn, tx_hash)
        if found is None:
            raise PageError(404, "tx_not_found", "no such tx in the index")
        return found

    def read_account(address: str, below: int | None) -> dict[str, Any]:
        # Verify a bech32 account address
        if not is_address(address):
            raise PageError(400, "invalid_address", "an account address is vox1...")
        with engine.connect() as conn:
            found = reads.account(conn, address, below=below)
        found["balance"] = _balance(node_url, address)
        return found

    # --- pages ----------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        with engine.connect() as conn:
            blocks, txs = reads.latest_blocks(conn, 10), reads.latest_txs(conn, 10)
            state = reads.index_status(conn)
        return page(request, "home.html", blocks=blocks, txs=txs, state=state)

    @app.get("/fragments/latest-blocks", response_class=HTMLResponse)
    def latest_fragment(request: Request) -> Response:
        with engine.connect() as conn:
            blocks = reads.latest_blocks(conn, 10)
        return page(request, "_latest_blocks.html", blocks=blocks)

    @app.get("/blocks", response_class=HTMLResponse)
    def blocks_page(
        request: Request, below: int | None = Query(None, ge=1, le=MAX_HEIGHT)
    ) -> Response:
        with engine.connect() as conn:
            blocks = reads.latest_blocks(conn, below=below)
        return page(request, "blocks.html", blocks=blocks)

    @app.get("/blocks/{height}", response_class=HTMLResponse)
    def block_page(request: Request, height: int) -> Response:
        return page(request, "block.html", block=read_block(height))

    @app.get("/txs/{tx_hash}", response_class=HTMLResponse)
    def tx_page(request: Request, tx_hash: str) -> Response:
        return page(request, "tx.html", tx=read_tx(tx_hash))

    @app.get("/accounts/{address}", response_class=HTMLResponse)
    def account_page(
        request: Request, address: str, below: int | None = Query(None, ge=1, le=MAX_HEIGHT)
    ) -> Response:
        return page(request, "account.html", account=read_account(address, below))

    @app.get("/validators", response_class=HTMLResponse)
    def validators_page(request: Request) -> Response:
        with engine.connect() as conn:
            rows = reads.validators(conn)
        return page(request, "validators.html", validators=rows)

    @app.get("/proposals", response_class=HTMLResponse)
    def proposals_page(request: Request) -> Response:
        with engine.connect() as conn:
            rows = reads.proposals(conn)
        return page(request, "proposals.html", proposals=rows)

    @app.get("/offers", response_class=HTMLResponse)
    def offers_page(request: Request) -> Response:
        with engine.connect() as conn:
            rows = reads.service_offers(conn)
        return page(request, "offers.html", offers=rows)

    @app.get("/storage", response_class=HTMLResponse)
    def storage_page(request: Request) -> Response:
        with engine.connect() as conn:
            rows = reads.storage_providers(conn)
        return page(request, "storage.html", providers=rows)

    @app.get("/supply", response_class=HTMLResponse)
    def supply_page(request: Request) -> Response:
        with engine.connect() as conn:
            rows, state = reads.supply(conn), reads.index_status(conn)
        return page(request, "supply.html", rows=rows, state=state)

    @app.get("/search")
    def search(q: str = Query("", max_length=200)) -> Response:
        with engine.connect() as conn:
            target = reads.search_target(conn, q)
        if target is None:
            raise PageError(404, "not_found", "no block, tx or account matches that search")
        return RedirectResponse(target, status_code=303)

    # --- JSON -----------------------------------------------------------------------------------

    @app.get("/v1/status")
    def status_json() -> dict[str, Any]:
        with engine.connect() as conn:
            state = reads.index_status(conn)
        return {**state, **live, "node": node_url or ""}

    @app.get("/api/blocks/{height}")
    def block_json(height: int) -> dict[str, Any]:
        return read_block(height)

    @app.get("/api/txs/{tx_hash}")
    def tx_json(tx_hash: str) -> dict[str, Any]:
        return read_tx(tx_hash)

    @app.get("/api/accounts/{address}")
    def account_json(address: str) -> dict[str, Any]:
        return read_account(address, None)

    return app


def _balance(node_url: str | None, address: str) -> int | None:
    """The account's balance as the node reports it now (None: no node, or it did not answer)."""
    if not node_url:
        return None
    try:
        answer = httpx.get(f"{node_url}/v1/accounts/{address}", timeout=BALANCE_TIMEOUT)
        if answer.status_code != 200:
            return None
        return int(answer.json()["balance"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
