"""A small deterministic key=value application implementing voxpop.chain.abci.Application.

Used to test the ABCI server and the CometBFT node runner before the real state machine exists.

- A tx is `key=value` (UTF-8, non-empty key); anything else is rejected (code 1).
- The app hash is sha256 over the sorted key/value pairs (not the height, so that
  `create_empty_blocks = false` does not make CometBFT produce a block for every new hash).
- State is kept in a JSON file written atomically on commit, but only every `persist_every`
  heights: a crash then leaves the app behind CometBFT's block store, so a restart exercises the
  handshake replay. The hash of every committed height is kept for the tests (query `/hash`).
- Queries: `/key` (data = key), `/hash` (data = decimal height), `/height`.

Run as a node: `open_app(home)` is the factory given to `python -m voxpop.node.cometbft --app`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from voxpop.chain.abci import (
    Event,
    EventAttribute,
    ExecTxResult,
    ProposalStatus,
    RequestCheckTx,
    RequestFinalizeBlock,
    RequestInfo,
    RequestInitChain,
    RequestPrepareProposal,
    RequestProcessProposal,
    RequestQuery,
    ResponseCheckTx,
    ResponseCommit,
    ResponseFinalizeBlock,
    ResponseInfo,
    ResponseInitChain,
    ResponsePrepareProposal,
    ResponseProcessProposal,
    ResponseQuery,
)
from voxpop.node.home import NodeHome

CODE_OK = 0
CODE_BAD_TX = 1
CODE_UNKNOWN = 2


def parse_tx(tx: bytes) -> tuple[str, str] | None:
    try:
        text = tx.decode()
    except UnicodeDecodeError:
        return None
    key, sep, value = text.partition("=")
    if not sep or not key:
        return None
    return key, value


def compute_app_hash(kv: dict[str, str]) -> bytes:
    encoded = json.dumps(sorted(kv.items()), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).digest()


class KVApp:
    def __init__(self, state_file: Path | None = None, persist_every: int = 1) -> None:
        self.state_file = state_file
        self.persist_every = persist_every
        self.height = 0
        self.kv: dict[str, str] = {}
        self.app_hash = b""
        self.hashes: dict[int, bytes] = {}
        self._pending: tuple[int, dict[str, str], bytes] | None = None
        self.calls: list[str] = []  # method names, in order (for in-process tests)
        if state_file is not None and state_file.exists():
            saved = json.loads(state_file.read_text())
            self.height = saved["height"]
            self.kv = saved["kv"]
            self.app_hash = bytes.fromhex(saved["app_hash"])
            self.hashes = {int(h): bytes.fromhex(x) for h, x in saved["hashes"].items()}

    def info(self, req: RequestInfo) -> ResponseInfo:
        self.calls.append("info")
        return ResponseInfo(
            data="kvapp",
            version="1",
            app_version=1,
            last_block_height=self.height,
            last_block_app_hash=self.app_hash,
        )

    def init_chain(self, req: RequestInitChain) -> ResponseInitChain:
        self.calls.append("init_chain")
        state = json.loads(req.app_state_bytes) if req.app_state_bytes else {}
        self.kv = {str(k): str(v) for k, v in state.get("kv", {}).items()}
        self.app_hash = compute_app_hash(self.kv)
        return ResponseInitChain(validators=(), app_hash=self.app_hash)

    def check_tx(self, req: RequestCheckTx) -> ResponseCheckTx:
        self.calls.append("check_tx")
        if parse_tx(req.tx) is None:
            return ResponseCheckTx(code=CODE_BAD_TX, log="tx must be key=value", codespace="kv")
        return ResponseCheckTx(code=CODE_OK, gas_wanted=1)

    def prepare_proposal(self, req: RequestPrepareProposal) -> ResponsePrepareProposal:
        self.calls.append("prepare_proposal")
        txs: list[bytes] = []
        size = 0
        for tx in req.txs:
            if parse_tx(tx) is None or size + len(tx) > req.max_tx_bytes:
                continue
            txs.append(tx)
            size += len(tx)
        return ResponsePrepareProposal(txs=tuple(txs))

    def process_proposal(self, req: RequestProcessProposal) -> ResponseProcessProposal:
        self.calls.append("process_proposal")
        ok = all(parse_tx(tx) is not None for tx in req.txs)
        return ResponseProcessProposal(
            status=ProposalStatus.ACCEPT if ok else ProposalStatus.REJECT
        )

    def finalize_block(self, req: RequestFinalizeBlock) -> ResponseFinalizeBlock:
        self.calls.append("finalize_block")
        kv = dict(self.kv)
        results: list[ExecTxResult] = []
        for tx in req.txs:
            parsed = parse_tx(tx)
            if parsed is None:
                results.append(ExecTxResult(code=CODE_BAD_TX, log="tx must be key=value"))
                continue
            key, value = parsed
            kv[key] = value
            event = Event(
                type="kv", attributes=(EventAttribute("key", key), EventAttribute("value", value))
            )
            results.append(ExecTxResult(code=CODE_OK, gas_used=1, events=(event,)))
        app_hash = compute_app_hash(kv)
        self._pending = (req.height, kv, app_hash)
        block_event = Event(type="block", attributes=(EventAttribute("height", str(req.height)),))
        return ResponseFinalizeBlock(
            events=(block_event,),
            tx_results=tuple(results),
            validator_updates=(),
            app_hash=app_hash,
        )

    def commit(self) -> ResponseCommit:
        self.calls.append("commit")
        if self._pending is None:
            raise RuntimeError("commit without finalize_block")
        self.height, self.kv, self.app_hash = self._pending
        self._pending = None
        self.hashes[self.height] = self.app_hash
        if self.state_file is not None and self.height % self.persist_every == 0:
            self._save(self.state_file)
        return ResponseCommit()

    def query(self, req: RequestQuery) -> ResponseQuery:
        self.calls.append("query")
        if req.path == "/key":
            key = req.data.decode()
            if key not in self.kv:
                return ResponseQuery(code=CODE_UNKNOWN, log="no such key", height=self.height)
            return ResponseQuery(
                code=CODE_OK, key=req.data, value=self.kv[key].encode(), height=self.height
            )
        if req.path == "/hash":
            height = int(req.data.decode())
            if height not in self.hashes:
                return ResponseQuery(code=CODE_UNKNOWN, log="no such height", height=self.height)
            return ResponseQuery(code=CODE_OK, value=self.hashes[height], height=self.height)
        if req.path == "/height":
            return ResponseQuery(code=CODE_OK, value=str(self.height).encode(), height=self.height)
        return ResponseQuery(code=CODE_UNKNOWN, log=f"unknown path {req.path}")

    def _save(self, path: Path) -> None:
        data = {
            "height": self.height,
            "kv": self.kv,
            "app_hash": self.app_hash.hex(),
            "hashes": {str(h): x.hex() for h, x in sorted(self.hashes.items())},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("w") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


def open_app(home: NodeHome) -> KVApp:
    """The factory for `python -m voxpop.node.cometbft --app kvapp:open_app` (tests/abci on
    PYTHONPATH). KVAPP_PERSIST_EVERY sets how often state reaches the disk (default 1)."""
    home.state_dir.mkdir(parents=True, exist_ok=True)
    every = int(os.environ.get("KVAPP_PERSIST_EVERY", "1"))
    return KVApp(home.state_dir / "kvapp.json", persist_every=every)
