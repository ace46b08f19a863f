"""Wake-word samples devices upload (`/v1/device/{uuid}/wake-word-file`, `/precise/upload`), kept
only when the owner opted in, encrypted at once into the agent's LocalStore.

Devices send `multipart/form-data` with two parts, `audio` (WAV) and `metadata` (JSON), but
ovos-backend-client and mycroft-core label the request `Content-Type: application/json`, so the
boundary is read from the body's first line, never from the header.

Nothing here leaves the machine: the private-data issue moves samples to storage providers.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from voxpop.agent.errors import AgentError

UPLOADS_NS = "uploads"
INDEX_NS = "uploads_index"  # device uuid -> its sample keys, oldest first
MAX_METADATA_BYTES = 4 * 1024
MAX_SAMPLES_PER_DEVICE = 1_000  # the oldest goes when a device passes it
# RFC 2046: 1-70 characters from this set (a space only inside)
_BOUNDARY = re.compile(rb"--([0-9A-Za-z'()+_,\-./:=? ]{1,70})\r?\n")
_INDEX_LOCK = threading.Lock()
_NAME = re.compile(rb'name="([^"]*)"', re.IGNORECASE)
_FILENAME = re.compile(rb'filename="([^"]*)"', re.IGNORECASE)


class UploadError(AgentError):
    """A malformed upload (status 400) or one over the size limit (413)."""

    code = "bad_upload"
    status = 400


class UploadTooLargeError(UploadError):
    code = "upload_too_large"
    status = 413


class UploadNotOptedInError(UploadError):
    """The owner has not opted in to keeping samples: nothing was read or stored."""

    code = "upload_not_opted_in"
    status = 403


class Store(Protocol):
    def get(self, ns: str, key: str) -> bytes | None: ...
    def put(self, ns: str, key: str, value: bytes) -> None: ...
    def delete(self, ns: str, key: str) -> bool: ...
    def items(self, ns: str) -> list[tuple[str, bytes]]: ...


@dataclass(frozen=True, slots=True)
class Sample:
    """One wake-word sample as stored: the device, what it says it heard, and the audio."""

    device: str  # the device's uuid
    kind: str  # "wake-word" (v2 path) or "precise" (v1 path)
    received_at: int  # unix seconds, the agent's clock
    metadata: dict[str, Any]
    audio: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.audio).hexdigest()


def split_multipart(body: bytes) -> dict[str, bytes]:
    """The parts of a multipart/form-data body by field name (or, lacking one, file name),
    the boundary taken from the body's first line. Raises UploadError."""
    match = _BOUNDARY.match(body)
    # Verify the body opens with a boundary line, as every multipart body does
    if match is None:
        raise UploadError("the body is not multipart/form-data (no boundary on its first line)")
    delimiter = b"--" + match.group(1).rstrip(b" ")
    parts: dict[str, bytes] = {}
    chunks = body.split(delimiter)
    # chunks[0] is the empty preamble; the last one starts with "--" (the closing delimiter)
    closed = False
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            closed = True
            break
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            head, sep, content = chunk.partition(b"\n\n")
        # Verify each part has its headers, then a blank line, then the content
        if not sep:
            raise UploadError("a multipart part has no header/content separator")
        name = _NAME.search(head) or _FILENAME.search(head)
        if name is None:
            raise UploadError("a multipart part has no name")
        # The CRLF before the next delimiter belongs to the delimiter, not the content
        if content.endswith(b"\r\n"):
            content = content[:-2]
        elif content.endswith(b"\n"):
            content = content[:-1]
        field = name.group(1).decode("utf-8", "replace")
        # Verify no field comes twice (which one would count is ambiguous)
        if field in parts:
            raise UploadError(f"the field {field!r} comes twice")
        parts[field] = content
    # Verify the body ends with the closing delimiter (a truncated upload is refused)
    if not closed:
        raise UploadError("the multipart body is truncated (no closing boundary)")
    return parts


def read_sample(body: bytes, *, device: str, kind: str, now: int, max_bytes: int) -> Sample:
    """The sample in an upload's body. Raises UploadError, UploadTooLargeError."""
    # Verify the size before parsing anything
    if len(body) > max_bytes:
        raise UploadTooLargeError(f"the upload is over {max_bytes} bytes")
    parts = split_multipart(body)
    audio = parts.get("audio")
    # Verify there is audio, and that it is a WAV file as devices record them
    if not audio:
        raise UploadError("the upload has no 'audio' part")
    if audio[:4] != b"RIFF" or audio[8:12] != b"WAVE":
        raise UploadError("the 'audio' part is not a WAV file")
    raw_meta = parts.get("metadata", b"{}")
    # Verify the metadata is one small JSON object
    if len(raw_meta) > MAX_METADATA_BYTES:
        raise UploadTooLargeError(f"the metadata is over {MAX_METADATA_BYTES} bytes")
    try:
        metadata = json.loads(raw_meta or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise UploadError("the 'metadata' part is not JSON") from None
    if not isinstance(metadata, dict):
        raise UploadError("the 'metadata' part must be a JSON object")
    return Sample(device, kind, now, metadata, audio)


def _sample_key(sample: Sample) -> str:
    # Sorted by device, then time: the oldest of a device comes first in items()
    return f"{sample.device}/{sample.received_at:012d}/{sample.digest[:16]}"


def save_sample(store: Store, sample: Sample) -> str:
    """Encrypt the sample into the store (the LocalStore seals every value); returns its key.
    Keeps at most MAX_SAMPLES_PER_DEVICE per device, dropping the oldest (a small index row per
    device says which, so no sample is opened to find them)."""
    record = {
        "device": sample.device,
        "kind": sample.kind,
        "received_at": sample.received_at,
        "metadata": sample.metadata,
        "sha256": sample.digest,
    }
    head = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    key = _sample_key(sample)
    with _INDEX_LOCK:  # the index is read, changed and written back
        store.put(UPLOADS_NS, key, len(head).to_bytes(4, "big") + head + sample.audio)
        raw = store.get(INDEX_NS, sample.device)
        keys: list[str] = json.loads(raw) if raw else []
        if key not in keys:
            keys.append(key)
        for old in keys[: max(0, len(keys) - MAX_SAMPLES_PER_DEVICE)]:
            store.delete(UPLOADS_NS, old)
        keys = keys[-MAX_SAMPLES_PER_DEVICE:]
        store.put(INDEX_NS, sample.device, json.dumps(keys).encode())
    return key


def load_samples(store: Store, device: str | None = None) -> list[Sample]:
    """The stored samples (of one device, or all), oldest first."""
    out: list[Sample] = []
    for key, value in store.items(UPLOADS_NS):
        if device is not None and not key.startswith(device + "/"):
            continue
        size = int.from_bytes(value[:4], "big")
        record = json.loads(value[4 : 4 + size])
        out.append(
            Sample(
                record["device"],
                record["kind"],
                record["received_at"],
                record["metadata"],
                value[4 + size :],
            )
        )
    return out
