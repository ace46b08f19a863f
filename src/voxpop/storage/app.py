"""The storage node's HTTP API as a bare ASGI app (docs/protocol/storage.md, "Storage node API").

    PUT /v1/objects/{object_id}/shards/{i}   the deal's owner uploads shard i (checked on chain)
    PUT /v1/objects/{object_id}/header       the object header (sha256 == the deal's header_hash)
    GET /v1/objects/{object_id}/shards/{i}   the owner reads it back (or a grantee: ?grant=<id>)
    GET /v1/objects/{object_id}/header
    GET /v1/status                           public: what the node holds and earns

Errors are JSON `{"error": {"code": ..., "message": ...}}` with stable codes. A shard is taken
only if the proven deal names this node at index i, its size is the deal's shard size and its
Merkle root is the deal's root i; it is on disk (fsynced) before the answer, and its placement is
then confirmed on chain in a batch.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from voxpop.chain.modules.consent.state import Grant
from voxpop.client.asgi import Receive, Scope, Send, read_body, respond, respond_error
from voxpop.crypto.merkle import RootBuilder
from voxpop.crypto.storage_auth import StorageAuthError, verify_request
from voxpop.storage import wire
from voxpop.storage.chain import ChainUnavailableError
from voxpop.storage.config import MAX_HEADER_BYTES, MAX_SHARD_BYTES
from voxpop.storage.shards import OverCapacityError, ShardStore, ShardWrite

OBJECT_ID_SIZE = 32
MAX_SHARDS_IN_FLIGHT = 4  # uploads received, hashed and written at once; the others wait
_OCTETS = [(b"content-type", b"application/octet-stream")]
_SEND_PIECE = 1 << 20  # bytes of a shard read from disk and sent at a time
_WRITE_BATCH = 1 << 20  # bytes of a shard received before they are written (one writev)
_JSON = [(b"content-type", b"application/json")]


class ApiError(Exception):
    """A request refused: HTTP `status`, stable `code`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


# Reads a deal with a verified proof (None: no such deal); raises ChainUnavailableError
DealReader = Callable[[bytes], Awaitable["wire.Deal | None"]]
# Queues (object_id, shard_index) for the next batched storage/Confirm
ConfirmQueue = Callable[[bytes, int], None]
# Reads an access grant with a verified proof (None: no such grant); raises ChainUnavailableError
GrantReader = Callable[[bytes], Awaitable["Grant | None"]]


@dataclass(slots=True)
class ApiStats:
    shards_received: int = 0
    shards_served: int = 0
    refused: int = 0


def parse_route(path: str) -> tuple[bytes, str, int | None] | None:
    """(object_id, "shards" | "header", index) of an object route, None for another path."""
    parts = path.split("/")
    # /v1/objects/<id>/header or /v1/objects/<id>/shards/<i>
    if len(parts) < 5 or parts[0] != "" or parts[1:3] != ["v1", "objects"]:
        return None
    try:
        object_id = bytes.fromhex(parts[3])
    except ValueError:
        raise ApiError(400, "bad_request", "the object id is 64 hex digits") from None
    if len(object_id) != OBJECT_ID_SIZE:
        raise ApiError(400, "bad_request", "the object id is 64 hex digits")
    if len(parts) == 5 and parts[4] == "header":
        return object_id, "header", None
    if len(parts) == 6 and parts[4] == "shards":
        text = parts[5]
        # Verify a plain small decimal index (one spelling per shard)
        if not text.isdigit() or len(text) > 3 or (len(text) > 1 and text[0] == "0"):
            raise ApiError(400, "bad_request", "the shard index is a decimal number")
        return object_id, "shards", int(text)
    return None


class StorageApp:
    """The ASGI app; `startup`/`shutdown` run from the ASGI lifespan (the background loops)."""

    def __init__(
        self,
        address: bytes,
        store: ShardStore,
        read_deal: DealReader,
        confirm: ConfirmQueue,
        status: Callable[[], dict[str, Any]],
        *,
        startup: Callable[[], Awaitable[None]] | None = None,
        shutdown: Callable[[], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.time,
        read_grant: GrantReader | None = None,
    ) -> None:
        self.address = address
        self.read_grant = read_grant
        self.store = store
        self.read_deal = read_deal
        self.confirm = confirm
        self.status = status
        self.stats = ApiStats()
        self._startup = startup
        self._shutdown = shutdown
        self.clock = clock
        self._bodies = asyncio.Semaphore(MAX_SHARDS_IN_FLIGHT)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if self._startup is not None:
                        await self._startup()
                except Exception as exc:  # reported to the server, which exits
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._shutdown is not None:
                    await self._shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        try:
            if path == "/v1/status" and method == "GET":
                await respond(send, 200, json.dumps(self.status()).encode(), _JSON)
                return
            route = parse_route(path)
            if route is None:
                raise ApiError(404, "not_found", f"no route {method} {path[:80]}")
            object_id, kind, index = route
            if method == "PUT" and index is not None:
                answer = await self._put_shard(scope, receive, object_id, index)
            elif method == "PUT":
                answer = await self._put_header(scope, receive, object_id)
            elif method == "GET":
                held = await self._get(scope, object_id, index)
                self.stats.shards_served += index is not None
                if isinstance(held, bytes):
                    await respond(send, 200, held, _OCTETS)
                else:
                    await _respond_file(send, held)
                return
            else:
                raise ApiError(405, "method_not_allowed", f"{method} is not offered on {kind}")
        except ApiError as exc:
            self.stats.refused += 1
            await respond_error(send, exc.status, exc.code, str(exc))
            return
        await respond(send, 200, json.dumps(answer).encode(), _JSON)

    # --- checks shared by every object route ---------------------------------------------------

    async def _deal(self, object_id: bytes) -> wire.Deal:
        try:
            deal = await self.read_deal(object_id)
        except ChainUnavailableError as exc:
            raise ApiError(503, "node_unreachable", f"cannot read the deal: {exc}") from None
        # Verify the chain knows the deal
        if deal is None:
            raise ApiError(404, "unknown_deal", "no deal with this object id on chain")
        return deal

    def _signer(self, scope: Scope, body: bytes, digest: bytes | None = None) -> bytes:
        header = _header(scope, b"authorization")
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        path = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        try:
            return verify_request(
                header, scope["method"], path, body, int(self.clock()), digest=digest
            )
        except StorageAuthError as exc:
            raise ApiError(401, exc.code, str(exc)) from None

    def _authorize(
        self, scope: Scope, body: bytes, deal: wire.Deal, digest: bytes | None = None
    ) -> None:
        # Verify the signer is the deal's owner (writes are the owner's only)
        if self._signer(scope, body, digest) != deal.owner:
            raise ApiError(403, "not_owner", "only the deal's owner may do this")

    async def _authorize_read(self, scope: Scope, deal: wire.Deal, object_id: bytes) -> None:
        """The owner reads; so does the grantee of a live access grant of the owner's that
        covers the object, named in the signed query (`?grant=<id hex>`). The grantee gets
        ciphertext only: the data key comes from the grant's kits, through m privacy nodes."""
        signer = self._signer(scope, b"")
        if signer == deal.owner:
            return
        grant_id = _grant_param(scope)
        # Verify a grant is named (and this node can read grants)
        if grant_id is None or self.read_grant is None:
            raise ApiError(403, "not_owner", "only the deal's owner or a grantee may read it")
        try:
            grant = await self.read_grant(grant_id)
        except ChainUnavailableError as exc:
            raise ApiError(503, "node_unreachable", f"cannot read the grant: {exc}") from None
        # Verify the grant is the owner's, to the signer
        if grant is None or grant.owner != deal.owner or grant.grantee != signer:
            raise ApiError(403, "not_grantee", "no grant of the owner's to this key")
        # Verify it is live (not revoked, not expired by the chain or by this node's clock)
        if grant.revoked_at or grant.expired_at or grant.expiry <= int(self.clock()):
            raise ApiError(403, "grant_ended", "the grant was revoked or has expired")
        # Verify it covers the object (a set committed by root: checked by the privacy nodes,
        # which hold the kits; here the owner's ciphertext alone opens nothing)
        if not grant.objects_root and not grant.covers_listed(object_id):
            raise ApiError(403, "object_not_granted", "the grant does not list this object")

    def _placement(self, deal: wire.Deal, index: int) -> wire.Placement:
        # Verify the deal has a shard i and places it with this node
        if not 0 <= index < len(deal.placements):
            raise ApiError(404, "unknown_shard", f"the deal has no shard {index}")
        placement = deal.placements[index]
        if placement.provider != self.address:
            raise ApiError(403, "not_assigned", f"shard {index} of this deal is not placed here")
        return placement

    # --- PUT -----------------------------------------------------------------------------------

    async def _put_shard(
        self, scope: Scope, receive: Receive, object_id: bytes, index: int
    ) -> dict[str, Any]:
        length = _content_length(scope)
        # Verify the declared size before reading anything (a shard is never larger than this)
        if length > MAX_SHARD_BYTES:
            raise ApiError(413, "too_large", f"a shard is at most {MAX_SHARD_BYTES} bytes")
        deal = await self._deal(object_id)
        placement = self._placement(deal, index)
        # Verify the declared size is the deal's shard size, before reading the body
        if length >= 0 and length != deal.shard_size:
            raise _size_error(length, deal.shard_size)
        # Verify the owner signed an upload of this very shard (the signature covers the root the
        # deal records), before reading a byte of it
        self._authorize(scope, b"", deal, placement.root)
        if self.store.has_shard(placement.root):
            await self._read(receive, deal.shard_size)  # drained: the connection stays usable
            self._queue_confirm(object_id, index, placement)
            return _stored(object_id, index, placement.root, new=False)
        try:
            self.store.reserve(deal.shard_size)
        except OverCapacityError as exc:
            raise ApiError(507, "over_capacity", str(exc)) from None
        try:
            # A few at a time: each is hashed and written as it comes (disk and CPU, not memory)
            async with self._bodies:
                await self._take_shard(scope, receive, deal, placement)
        finally:
            self.store.release(deal.shard_size)
        self.stats.shards_received += 1
        self._queue_confirm(object_id, index, placement)
        return _stored(object_id, index, placement.root, new=True)

    async def _take_shard(
        self, scope: Scope, receive: Receive, deal: wire.Deal, placement: wire.Placement
    ) -> None:
        # The body is hashed into its Merkle leaves and written to a temporary file as it
        # streams in: no pass over the whole shard is left once it is in, and no copy of it
        # is held in memory
        try:
            upload = self.store.begin_shard()
        except OSError as exc:
            raise _unavailable(exc) from None
        try:
            root = await _receive_shard(receive, deal.shard_size, deal.leaf_size, upload)
            if upload.size != deal.shard_size:
                raise _size_error(upload.size, deal.shard_size)
            # Verify the bytes are the ones the chain committed to
            if root != placement.root:
                raise ApiError(422, "root_mismatch", "the shard's Merkle root is not the deal's")
            try:
                await asyncio.to_thread(upload.commit, placement.root)
            except OSError as exc:
                raise _unavailable(exc) from None
        finally:
            upload.abort()  # a no-op once committed

    def _queue_confirm(self, object_id: bytes, index: int, placement: wire.Placement) -> None:
        if placement.status == wire.PENDING:
            self.confirm(object_id, index)

    async def _put_header(self, scope: Scope, receive: Receive, object_id: bytes) -> dict[str, Any]:
        length = _content_length(scope)
        if length > MAX_HEADER_BYTES:
            raise ApiError(413, "too_large", f"a header is at most {MAX_HEADER_BYTES} bytes")
        deal = await self._deal(object_id)
        # Verify this node holds a shard of the deal (the header goes to its shards' nodes only)
        if all(p.provider != self.address for p in deal.placements):
            raise ApiError(403, "not_assigned", "no shard of this deal is placed here")
        body = await self._read(receive, MAX_HEADER_BYTES)
        self._authorize(scope, body, deal)
        # Verify it is the header the deal commits to
        if hashlib.sha256(body).digest() != deal.header_hash:
            raise ApiError(422, "header_mismatch", "sha256 of the header is not the deal's")
        if not self.store.has_header(deal.header_hash):
            try:
                self.store.reserve(len(body))
            except OverCapacityError as exc:
                raise ApiError(507, "over_capacity", str(exc)) from None
            try:
                await asyncio.to_thread(self.store.write_header, deal.header_hash, body)
            except OSError as exc:
                raise _unavailable(exc) from None
            finally:
                self.store.release(len(body))
        return {"object_id": object_id.hex(), "header_hash": deal.header_hash.hex()}

    async def _read(self, receive: Receive, limit: int) -> bytes:
        body = await read_body(receive, limit)
        if body is None:
            raise ApiError(413, "too_large", f"the body is over {limit} bytes")
        return body

    # --- GET -----------------------------------------------------------------------------------

    async def _get(self, scope: Scope, object_id: bytes, index: int | None) -> bytes | BinaryIO:
        """The header's bytes, or the shard's file opened (streamed out, never read whole)."""
        deal = await self._deal(object_id)
        await self._authorize_read(scope, deal, object_id)
        data: bytes | BinaryIO | None
        if index is None:
            data = await asyncio.to_thread(self.store.read_header, deal.header_hash)
        else:
            if not 0 <= index < len(deal.placements):
                raise ApiError(404, "unknown_shard", f"the deal has no shard {index}")
            # Served if held, wherever the chain now places it (a repairer may still need it)
            data = self.store.open_shard(deal.placements[index].root)
        if data is None:
            raise ApiError(404, "not_held", "this node does not hold it")
        return data


async def _receive_shard(
    receive: Receive, size: int, leaf_size: int, sink: ShardWrite
) -> bytes | None:
    """The body's Merkle root (None if empty), hashed chunk by chunk as it comes and written
    to `sink` a MiB at a time, on a worker thread (a slow disk must not stall the event loop,
    which also answers the chain's challenges); `size` bytes at most (413 past it, before
    anything more is written)."""
    filled = 0
    leaves = RootBuilder(leaf_size)
    batch: list[bytes] = []
    batched = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "bad_request", "the client went away mid-body")
        chunk = message.get("body", b"")
        more = message.get("more_body", False)
        # Verify the body stays within the limit before keeping any more of it
        if filled + len(chunk) > size:
            raise ApiError(413, "too_large", f"the body is over {size} bytes")
        leaves.feed(chunk)
        filled += len(chunk)
        batch.append(chunk)
        batched += len(chunk)
        if batched >= _WRITE_BATCH or not more:
            try:
                await asyncio.to_thread(sink.write, batch)
            except OSError as exc:
                raise _unavailable(exc) from None
            batch, batched = [], 0
    return leaves.root() if filled else None


async def _respond_file(send: Send, held: BinaryIO) -> None:
    """A held shard, read and sent a piece at a time (a node serving many reads holds a few
    MiB per read, not whole shards; uvicorn waits for the client to drain before the next)."""
    with held:
        size = os.fstat(held.fileno()).st_size
        headers = [*_OCTETS, (b"content-length", str(size).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        sent = 0
        while True:
            piece = await asyncio.to_thread(held.read, _SEND_PIECE)
            sent += len(piece)
            more = bool(piece) and sent < size
            await send({"type": "http.response.body", "body": piece, "more_body": more})
            if not more:
                return


def _stored(object_id: bytes, index: int, root: bytes, *, new: bool) -> dict[str, Any]:
    return {"object_id": object_id.hex(), "index": index, "root": root.hex(), "stored": new}


def _unavailable(exc: OSError) -> ApiError:
    return ApiError(503, "storage_unavailable", f"cannot store: {exc.strerror}")


def _size_error(size: int, expected: int) -> ApiError:
    if size > expected:
        return ApiError(413, "too_large", f"the deal's shards are {expected} bytes, not {size}")
    return ApiError(422, "size_mismatch", f"the deal's shards are {expected} bytes, not {size}")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def _grant_param(scope: Scope) -> bytes | None:
    """The grant id of the query `grant=<64 hex>` (None: absent or malformed)."""
    query: bytes = scope.get("query_string", b"")
    for part in query.split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"grant" and len(value) == 64:
            try:
                return bytes.fromhex(value.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                return None
    return None


def _content_length(scope: Scope) -> int:
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() and len(value) < 19 else -1
