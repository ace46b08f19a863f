"""Signed HTTP to storage nodes: put and get shards and object headers (docs/protocol/storage.md).

Every request carries `Authorization: Voxpop-Sig v1 ...` signed with the owner's account key
(voxpop.crypto.storage_auth): the node serves and accepts only the deal owner's requests. One
httpx.Client (thread-safe, pooled) serves the worker threads that move the shards in parallel.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx

from voxpop.client.storage.errors import ShardFetchError, StorageNodeError, UploadError
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.storage_auth import sign_request

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 120.0  # a 100+ MiB shard to a slow disk; a node that stalls longer is dropped
MAX_HEADER_BYTES = 64 * 1024  # an object header is a few hundred bytes

# A shard as one piece, or as the pieces whose concatenation it is (put's fragments, sent as
# they are rather than joined into one more copy)
ShardBytes = bytes | Sequence[bytes]


def shard_length(shard: ShardBytes) -> int:
    return len(shard) if isinstance(shard, bytes) else sum(len(p) for p in shard)


# Told (the shard's buffer, the bytes of it received so far) as a download goes
Watch = Callable[[memoryview, int], None]


class Cancelled(Exception):  # a signal between worker threads, not an error
    """A download stopped because enough other shards already arrived."""


def shard_path(object_id: bytes, index: int) -> str:
    return f"/v1/objects/{object_id.hex()}/shards/{index}"


def header_path(object_id: bytes) -> str:
    return f"/v1/objects/{object_id.hex()}/header"


class StorageNodes:
    """The owner's connection to any number of storage nodes. Use as a context manager."""

    def __init__(self, account: PrivateKey, *, max_connections: int = 64) -> None:
        self.account = account
        self._http = httpx.Client(
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=32),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> StorageNodes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _headers(
        self, method: str, path: str, body: bytes, digest: bytes | None = None
    ) -> dict[str, str]:
        auth = sign_request(self.account, method, path, body, int(time.time()), digest=digest)
        return {"Authorization": auth}

    # --- writes ---------------------------------------------------------------------------------

    def put_shard(
        self, endpoint: str, object_id: bytes, index: int, shard: ShardBytes, root: bytes
    ) -> None:
        """Upload shard `index`, whose Merkle root (the deal's) the request's signature covers.
        Raises StorageNodeError (the node refused: root_mismatch, not_assigned, ...),
        UploadError (unreachable, timed out)."""
        path = shard_path(object_id, index)
        headers = self._headers("PUT", path, b"", root)
        if isinstance(shard, bytes):
            self._put(endpoint, path, shard, headers)
        else:
            # Sent piece by piece with its length declared (so not chunked): the node reads the
            # length before the body
            headers["Content-Length"] = str(shard_length(shard))
            self._put(endpoint, path, iter(shard), headers)

    def put_header(self, endpoint: str, object_id: bytes, header: bytes) -> None:
        path = header_path(object_id)
        self._put(endpoint, path, header, self._headers("PUT", path, header))

    def _put(
        self, endpoint: str, path: str, body: bytes | Iterator[bytes], headers: dict[str, str]
    ) -> None:
        url = endpoint.rstrip("/") + path
        headers["Content-Type"] = "application/octet-stream"
        try:
            resp = self._http.put(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise UploadError(f"{endpoint}: {exc!r}") from None
        if resp.status_code >= 300:
            raise node_error(endpoint, resp.status_code, resp.content)

    # --- reads ----------------------------------------------------------------------------------

    def get_shard(
        self,
        endpoint: str,
        object_id: bytes,
        index: int,
        max_bytes: int,
        cancel: threading.Event | None = None,
    ) -> bytes:
        """The shard as the node holds it (at most `max_bytes`: a node cannot flood the owner).

        Raises StorageNodeError, ShardFetchError (unreachable, too long), Cancelled.
        """
        return self._get(endpoint, shard_path(object_id, index), max_bytes, cancel)

    def get_shard_watched(
        self,
        endpoint: str,
        object_id: bytes,
        index: int,
        max_bytes: int,
        cancel: threading.Event,
        watch: Watch,
    ) -> memoryview:
        """get_shard, calling `watch(buffer, filled)` after each read from the socket: the
        shard's buffer (allocated once at its announced length) and how much of it is in. The
        shard is returned where it was received (not copied). The owner's reads only (a
        grantee's go through its own get_shard)."""
        path = shard_path(object_id, index)
        return self._receive(endpoint, path, max_bytes, cancel, watch).view

    def get_header(self, endpoint: str, object_id: bytes) -> bytes:
        return self._get(endpoint, header_path(object_id), MAX_HEADER_BYTES, None)

    def _get(
        self, endpoint: str, path: str, max_bytes: int, cancel: threading.Event | None
    ) -> bytes:
        return self._receive(endpoint, path, max_bytes, cancel, None).view.tobytes()

    def _receive(
        self,
        endpoint: str,
        path: str,
        max_bytes: int,
        cancel: threading.Event | None,
        watch: Watch | None,
    ) -> _Body:
        url = endpoint.rstrip("/") + path
        try:
            with self._http.stream("GET", url, headers=self._headers("GET", path, b"")) as resp:
                if resp.status_code >= 300:
                    resp.read()
                    raise node_error(endpoint, resp.status_code, resp.content)
                body = _Body(f"{endpoint}{path}", resp.headers.get("content-length"), max_bytes)
                # The socket's reads as they come (no re-chunking), each copied once, into place
                for chunk in resp.iter_raw():
                    if cancel is not None and cancel.is_set():
                        raise Cancelled
                    body.add(chunk)
                    if watch is not None and body.length >= 0:
                        watch(body.view, body.filled)
        except httpx.HTTPError as exc:
            raise ShardFetchError(f"{endpoint}: {exc!r}") from None
        body.finish()
        return body

    def status(self, endpoint: str, timeout: float = 3.0) -> dict[str, Any] | None:
        """The node's public `/v1/status`, or None when it does not answer."""
        try:
            resp = self._http.get(endpoint.rstrip("/") + "/v1/status", timeout=timeout)
            doc = resp.json() if resp.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None


class _Body:
    """A response body received into one buffer, allocated once at its announced length (a
    growing buffer would copy a 16 MiB shard many times over); a body of no announced length
    (chunked) is gathered in pieces, joined at the end and not watched."""

    def __init__(self, where: str, announced: str | None, max_bytes: int) -> None:
        self.where = where
        self.length = int(announced) if announced is not None and announced.isdigit() else -1
        # Verify the node does not announce more than the object's format allows
        if self.length > max_bytes:
            raise ShardFetchError(f"{where}: {self.length} bytes, over {max_bytes}")
        self.limit = self.length if self.length >= 0 else max_bytes
        self.view = memoryview(bytearray(max(self.length, 0)))
        self.pieces: list[bytes] = []
        self.filled = 0

    def add(self, chunk: bytes) -> None:
        end = self.filled + len(chunk)
        # Verify the node sends no more than it announced, nor than the format allows
        if end > self.limit:
            raise ShardFetchError(f"{self.where}: over {self.limit} bytes")
        if self.length >= 0:
            self.view[self.filled : end] = chunk
        else:
            self.pieces.append(chunk)
        self.filled = end

    def finish(self) -> None:
        if self.length < 0:
            self.view = memoryview(b"".join(self.pieces))
        # Verify the whole announced body came (httpx also refuses a short one)
        elif self.filled != self.length:
            raise ShardFetchError(f"{self.where}: {self.filled} of {self.length} bytes")


def node_error(endpoint: str, status: int, body: bytes) -> StorageNodeError:
    """The node's `{"error": {"code", "message"}}`, or what can be said without it."""
    code, message = f"http_{status}", body[:200].decode("utf-8", "replace")
    try:
        doc = json.loads(body)
        code, message = str(doc["error"]["code"]), str(doc["error"]["message"])
    except (ValueError, KeyError, TypeError):
        pass
    return StorageNodeError(endpoint, status, code, message)
