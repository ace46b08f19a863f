"""An asyncio ABCI socket server: CometBFT's four connections in, one Application out.

CometBFT opens four connections (consensus, mempool, query, snapshot) and pipelines requests on
each; every connection is answered strictly in order. `Flush` and `Echo` never touch the app.
Application calls are synchronous CPU work: they run one at a time, under one `AppLock` that
also guards local reads from other threads (the node's HTTP API). The requests that arrive
together on a connection are answered by one worker-thread job (one thread hop for a burst of
pipelined CheckTx), taking the lock per request, and the lock lets consensus calls (InitChain,
PrepareProposal, ProcessProposal, FinalizeBlock, Commit) go before waiting mempool and query
calls, so a burst of CheckTx delays a block by at most one CheckTx. A small burst of CheckTx
(at most `_INLINE_MAX`) that finds the app idle is answered on the event loop's own thread
instead, signatures included: a thread hop costs more CPU than a CheckTx (see
docs/benchmarks.md), and such a burst holds the loop for well under a millisecond.

Failures:
- An exception from CheckTx or Query becomes a non-zero code in codespace `abci` (a CheckTx bug
  must not halt the node); the traceback is logged.
- An exception from any other application call, or an undecodable request, is answered with
  `ResponseException` and the connection is closed; CometBFT stops, and `on_fatal` is called so
  the supervisor can stop the node.
- Snapshot calls go to the node's SnapshotService (voxpop.abci.snapshots; without one there
  are none to list and every offer is refused); vote extensions go to the app (VoxApp's are
  the randomness beacon's VRF proofs), or are empty and accepted for an app without them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from google.protobuf.message import DecodeError

from voxpop.abci import translate
from voxpop.abci.codec import FrameDecoder, FramingError, encode_frame
from voxpop.abci.event_index import EventIndex
from voxpop.abci.proto import abci_pb2
from voxpop.abci.snapshots import snapshot_handlers
from voxpop.chain.abci import Application, ResponseCheckTx, ResponseQuery

if TYPE_CHECKING:
    from voxpop.node.snapshots.service import SnapshotService

log = logging.getLogger("voxpop.abci")

ABCI_CODESPACE = "abci"
CODE_INTERNAL_ERROR = 1
_READ_CHUNK = 256 * 1024

T = TypeVar("T")


class AppLock:
    """A mutual-exclusion lock for the Application where urgent (consensus) holders go first.

    Thread-safe; used from the server's worker threads and from any other thread that reads the
    app (`with lock.hold(): app.query(...)`).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held = False
        self._urgent_waiting = 0

    @contextlib.contextmanager
    def hold(self, urgent: bool = False) -> Iterator[None]:
        with self._cond:
            if urgent:
                self._urgent_waiting += 1
            try:
                while self._held or (not urgent and self._urgent_waiting):
                    self._cond.wait()
            finally:
                if urgent:
                    self._urgent_waiting -= 1
            self._held = True
        try:
            yield
        finally:
            self.release()

    def try_acquire(self) -> bool:
        """Take the lock (as a non-urgent holder) if that needs no wait; never blocks.

        True if taken: the caller must `release()` it."""
        with self._cond:
            if self._held or self._urgent_waiting:
                return False
            self._held = True
            return True

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """Where the server listens: a unix socket path, or a TCP host and port."""

    unix_path: Path | None = None
    host: str = ""
    port: int = 0

    @classmethod
    def parse(cls, address: str) -> ListenAddress:
        """Parse CometBFT's `proxy_app` form: `unix:///path/abci.sock` or `tcp://127.0.0.1:26658`.

        Raises ValueError for anything else.
        """
        if address.startswith("unix://"):
            return cls(unix_path=Path(address.removeprefix("unix://")))
        rest = address.removeprefix("tcp://")
        host, sep, port = rest.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"not an ABCI address (unix:///path or tcp://host:port): {address!r}")
        return cls(host=host.strip("[]") or "127.0.0.1", port=int(port))

    def __str__(self) -> str:
        if self.unix_path is not None:
            return f"unix://{self.unix_path}"
        return f"tcp://{self.host}:{self.port}"


class _FatalRequest(Exception):
    """An error after which the connection cannot continue (answered with ResponseException)."""


class AbciServer:
    """Serves one Application to CometBFT over a unix or TCP socket.

    Usage: `server = AbciServer(app); await server.start("unix:///x/abci.sock"); ...;
    await server.close()`, or `async with AbciServer(app).serving(addr) as server: ...`.
    """

    def __init__(
        self,
        app: Application,
        *,
        lock: AppLock | None = None,
        on_fatal: Callable[[BaseException], None] | None = None,
        snapshots: SnapshotService | None = None,
        index_events: EventIndex | None = None,
    ) -> None:
        self.app = app
        self.index_events = index_events  # None: every attribute the app marks
        self.snapshots = snapshots
        self.lock = lock or AppLock()
        self._on_fatal = on_fatal
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="abci-app")
        # The app's thread-safe signature pre-verification, e.g. VoxApp.preverify, if it has one
        self._preverify: Callable[[list[bytes]], None] | None = getattr(app, "preverify", None)
        self._verifier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="abci-verify")
        self._server: asyncio.Server | None = None
        self._address: ListenAddress | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._conn_seq = 0
        self._closing = False
        self._handlers: dict[str, Callable[[Any], Any]] = {
            "info": self._info,
            "init_chain": self._init_chain,
            "check_tx": self._check_tx,
            "query": self._query,
            "prepare_proposal": self._prepare_proposal,
            "process_proposal": self._process_proposal,
            "finalize_block": self._finalize_block,
            "commit": self._commit,
        }
        # Vote extensions go to an app that makes them (VoxApp: the beacon's VRF proofs); any
        # other app's are empty and accepted
        if hasattr(app, "extend_vote") and hasattr(app, "verify_vote_extension"):
            self._handlers["extend_vote"] = self._extend_vote
            self._handlers["verify_vote_extension"] = self._verify_vote_extension
        self._handlers.update(snapshot_handlers(snapshots))

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def address(self) -> ListenAddress:
        """The bound address (for TCP port 0, the port actually chosen). Only after start()."""
        if self._address is None:
            raise RuntimeError("server not started")
        return self._address

    async def start(self, address: str) -> None:
        """Bind and start accepting. Raises OSError if the address cannot be bound."""
        where = ListenAddress.parse(address)
        if where.unix_path is not None:
            _remove_stale_socket(where.unix_path)
            where.unix_path.parent.mkdir(parents=True, exist_ok=True)
            self._server = await asyncio.start_unix_server(
                self._accept, path=str(where.unix_path), limit=_READ_CHUNK
            )
            self._address = where
        else:
            self._server = await asyncio.start_server(
                self._accept, host=where.host, port=where.port, limit=_READ_CHUNK
            )
            port = self._server.sockets[0].getsockname()[1]
            self._address = ListenAddress(host=where.host, port=port)
        log.info("ABCI server listening on %s", self._address)

    async def close(self) -> None:
        """Stop accepting, close every connection, wait for in-flight app calls to finish."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)
        await asyncio.get_running_loop().run_in_executor(None, self._verifier.shutdown)
        if self._address is not None and self._address.unix_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._address.unix_path.unlink()

    @contextlib.asynccontextmanager
    async def serving(self, address: str) -> AsyncIterator[AbciServer]:
        await self.start(address)
        try:
            yield self
        finally:
            await self.close()

    def call_app(self, fn: Callable[[T], Any], arg: T) -> Any:
        """Call `fn(arg)` on the app from any thread, under the app lock (for local reads)."""
        with self.lock.hold():
            return fn(arg)

    # --- connections --------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._conn_seq += 1
        conn = self._conn_seq
        log.debug("ABCI connection %d opened", conn)
        try:
            await self._serve_connection(conn, reader, writer)
        except asyncio.CancelledError:
            pass
        except (ConnectionError, OSError) as exc:
            log.debug("ABCI connection %d: %s", conn, exc)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            log.debug("ABCI connection %d closed", conn)

    async def _serve_connection(
        self, conn: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Read requests and hand them to `_answer_connection` in bursts, in order.

        Reading runs ahead of answering (up to `_MAX_BURSTS_AHEAD` bursts), so the signatures of
        the CheckTx requests in the next burst are verified on the verifier thread (the app's
        `preverify`, if it has one) while the app answers the current one."""
        decoder = FrameDecoder()
        bursts: asyncio.Queue[_Burst | None] = asyncio.Queue(maxsize=_MAX_BURSTS_AHEAD)
        answering = asyncio.ensure_future(self._answer_connection(conn, bursts, writer))
        try:
            while not answering.done():
                data = await reader.read(_READ_CHUNK)
                if not data:
                    break
                try:
                    frames = decoder.feed(data)
                except FramingError as exc:
                    await bursts.put(_Burst([], None, exc))
                    break
                if frames:
                    # A burst small enough to be answered inline verifies inline too
                    verifying = None if _inline_eligible(frames) else self._start_preverify(frames)
                    await bursts.put(_Burst(frames, verifying, None))
            if not answering.done():
                await bursts.put(None)
            await answering
        finally:
            if not answering.done():
                answering.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await answering

    async def _answer_connection(
        self, conn: int, bursts: asyncio.Queue[_Burst | None], writer: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        while (burst := await bursts.get()) is not None:
            if burst.framing_error is not None:
                err = burst.framing_error
                await self._fail(writer, conn, f"bad framing: {err}", err)
                writer.close()  # ends the reader's wait too
                return
            if burst.preverified is not None:
                try:
                    await burst.preverified
                except Exception:  # only an optimisation: check_tx verifies what is missing
                    log.exception("preverify failed; check_tx will verify")
            # Everything that arrived together is answered by one worker-thread job, so a burst
            # of pipelined CheckTx costs one thread hop, not one per tx.
            if all(_is_cheap(payload) for payload in burst.frames):
                responses, fatal = self._answer_all(burst.frames)
            elif _inline_eligible(burst.frames) and self.lock.try_acquire():
                try:
                    responses, fatal = self._answer_all(burst.frames, locked=True)
                finally:
                    self.lock.release()
            else:
                responses, fatal = await loop.run_in_executor(
                    self._executor, self._answer_all, burst.frames
                )
            writer.write(b"".join(encode_frame(r) for r in responses))
            if fatal is not None:
                await self._fail(writer, conn, str(fatal), fatal.__cause__ or fatal)
                writer.close()  # ends the reader's wait too
                return
            await writer.drain()

    def _start_preverify(self, frames: list[bytes]) -> asyncio.Future[None] | None:
        """Start verifying the new CheckTx txs among `frames` on the verifier thread."""
        if self._preverify is None:
            return None
        txs = []
        for payload in frames:
            if payload and payload[0] == _CHECK_TX_TAG:
                try:
                    req = abci_pb2.Request.FromString(payload).check_tx
                except DecodeError:
                    continue  # answered (fatally) in order by _answer
                if req.type == abci_pb2.NEW:
                    txs.append(req.tx)
        if not txs:
            return None
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._verifier, self._preverify, txs)

    async def _fail(
        self, writer: asyncio.StreamWriter, conn: int, message: str, cause: BaseException
    ) -> None:
        log.error("ABCI connection %d: %s", conn, message, exc_info=cause)
        response = abci_pb2.Response(exception=abci_pb2.ResponseException(error=message))
        writer.write(encode_frame(response.SerializeToString()))
        with contextlib.suppress(ConnectionError, OSError):
            await writer.drain()
        if self._on_fatal is not None:
            self._on_fatal(cause)

    def _answer_all(
        self, frames: list[bytes], *, locked: bool = False
    ) -> tuple[list[bytes], _FatalRequest | None]:
        """Answer requests in order (on a worker thread, or inline if none touches the app or
        the caller holds the app lock: `locked`).

        Stops at the first fatal request, returning the answers before it and the error.
        """
        responses: list[bytes] = []
        for payload in frames:
            if self._closing:
                break
            try:
                responses.append(self._answer(payload, locked).SerializeToString())
            except _FatalRequest as exc:
                return responses, exc
        return responses, None

    def _answer(self, payload: bytes, locked: bool = False) -> Any:
        """Decode one request, answer it (taking the app lock, unless the caller holds it).

        Raises _FatalRequest when the connection must end."""
        try:
            request = abci_pb2.Request.FromString(payload)
        except DecodeError as exc:
            raise _FatalRequest(f"undecodable request: {exc}") from exc
        method = request.WhichOneof("value")
        if method == "flush":
            return abci_pb2.Response(flush=abci_pb2.ResponseFlush())
        if method == "echo":
            return abci_pb2.Response(echo=abci_pb2.ResponseEcho(message=request.echo.message))
        if method in _SNAPSHOT_AND_VOTE_EXTENSION_ANSWERS and method not in self._handlers:
            return abci_pb2.Response(**{method: _SNAPSHOT_AND_VOTE_EXTENSION_ANSWERS[method]()})
        handler = self._handlers.get(method or "")
        if handler is None:
            raise _FatalRequest(f"unknown request {method!r}")
        try:
            if locked:
                result = handler(getattr(request, method))
            else:
                with self.lock.hold(urgent=method not in _NOT_URGENT):
                    result = handler(getattr(request, method))
        except Exception as exc:
            raise _FatalRequest(f"{method} failed: {type(exc).__name__}: {exc}") from exc
        return abci_pb2.Response(**{method: result})

    # --- one handler per application method (run on a worker thread, under the lock) ---------

    def _info(self, pb: Any) -> Any:
        resp = self.app.info(translate.info_request_from_pb(pb))
        log.info(
            "ABCI Info: app at height %d, app hash %s",
            resp.last_block_height,
            resp.last_block_app_hash.hex().upper(),
        )
        return translate.info_response_to_pb(resp)

    def _init_chain(self, pb: Any) -> Any:
        req = translate.init_chain_request_from_pb(pb)
        log.info("ABCI InitChain: chain %s, %d validators", req.chain_id, len(req.validators))
        return translate.init_chain_response_to_pb(self.app.init_chain(req))

    def _check_tx(self, pb: Any) -> Any:
        try:
            resp = self.app.check_tx(translate.check_tx_request_from_pb(pb))
        except Exception as exc:
            log.exception("check_tx raised; rejecting the tx")
            resp = ResponseCheckTx(
                code=CODE_INTERNAL_ERROR,
                codespace=ABCI_CODESPACE,
                log=f"internal error: {type(exc).__name__}",
            )
        return translate.check_tx_response_to_pb(resp)

    def _query(self, pb: Any) -> Any:
        try:
            resp = self.app.query(translate.query_request_from_pb(pb))
        except Exception as exc:
            log.exception("query raised")
            resp = ResponseQuery(
                code=CODE_INTERNAL_ERROR,
                codespace=ABCI_CODESPACE,
                log=f"internal error: {type(exc).__name__}",
            )
        return translate.query_response_to_pb(resp)

    def _prepare_proposal(self, pb: Any) -> Any:
        req = translate.prepare_proposal_request_from_pb(pb)
        return translate.prepare_proposal_response_to_pb(self.app.prepare_proposal(req))

    def _process_proposal(self, pb: Any) -> Any:
        req = translate.process_proposal_request_from_pb(pb)
        return translate.process_proposal_response_to_pb(self.app.process_proposal(req))

    def _finalize_block(self, pb: Any) -> Any:
        req = translate.finalize_block_request_from_pb(pb)
        return translate.finalize_block_response_to_pb(
            self.app.finalize_block(req), self.index_events
        )

    def _extend_vote(self, pb: Any) -> Any:
        req = translate.extend_vote_request_from_pb(pb)
        return translate.extend_vote_response_to_pb(self.app.extend_vote(req))

    def _verify_vote_extension(self, pb: Any) -> Any:
        req = translate.verify_vote_extension_request_from_pb(pb)
        return translate.verify_vote_extension_response_to_pb(self.app.verify_vote_extension(req))

    def _commit(self, pb: Any) -> Any:
        resp = self.app.commit()
        if self.snapshots is not None:
            # Before the next block: a snapshot due at this height starts from this state
            resp = replace(resp, retain_height=self.snapshots.after_commit(resp.retain_height))
        return translate.commit_response_to_pb(resp)


# Requests that wait behind consensus calls for the app lock.
_NOT_URGENT = frozenset({"check_tx", "query", "info", "list_snapshots", "load_snapshot_chunk"})

# How many bursts of requests a connection reads ahead of the one being answered.
_MAX_BURSTS_AHEAD = 4

# The tag byte of Request.check_tx (field 8, length-delimited).
_CHECK_TX_TAG = 0x42


@dataclass(slots=True)
class _Burst:
    """Requests that arrived together on one connection, and their pre-verification."""

    frames: list[bytes]
    preverified: asyncio.Future[None] | None
    framing_error: FramingError | None


# Request field numbers answered without the app: echo = 1, flush = 2 (tendermint.abci.Request).
_CHEAP_TAGS = frozenset({0x0A, 0x12})


def _is_cheap(payload: bytes) -> bool:
    """True for Echo and Flush, judged from the oneof's tag byte without decoding."""
    return bool(payload) and payload[0] in _CHEAP_TAGS


# The most CheckTx a burst may hold to be answered on the event loop's thread. Each costs
# ~100-150 µs there (signature included), so the loop, and a consensus request arriving on
# another connection, waits at most ~1 ms.
_INLINE_MAX = 8
_INLINE_TAGS = _CHEAP_TAGS | {_CHECK_TX_TAG}


def _inline_eligible(frames: list[bytes]) -> bool:
    """True for a burst of at most `_INLINE_MAX` requests, all CheckTx, Flush or Echo."""
    return len(frames) <= _INLINE_MAX and all(p and p[0] in _INLINE_TAGS for p in frames)


_SNAPSHOT_AND_VOTE_EXTENSION_ANSWERS: dict[str, Callable[[], Any]] = {
    "extend_vote": lambda: abci_pb2.ResponseExtendVote(),
    "verify_vote_extension": lambda: abci_pb2.ResponseVerifyVoteExtension(
        status=abci_pb2.ResponseVerifyVoteExtension.ACCEPT
    ),
}


def _remove_stale_socket(path: Path) -> None:
    """Remove a socket file left by a previous run.

    Raises FileExistsError if `path` is another kind of file or a live server still answers on it.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()  # nobody listening: left over from a process that died
    else:
        raise FileExistsError(f"{path}: another ABCI server is listening there")
    finally:
        probe.close()
