"""ABCI socket framing: each message is an unsigned varint length, then that many bytes.

This is what CometBFT's `protoio` delimited reader and writer do (`binary.PutUvarint`). The codec
knows nothing of protobuf: it moves opaque payloads in and out of a byte stream.
"""

from __future__ import annotations

MAX_FRAME_BYTES = 2**31 - 1  # CometBFT's maxMsgSize (math.MaxInt32)
_MAX_VARINT_BYTES = 10  # a uint64 needs at most 10 varint bytes


class FramingError(ValueError):
    """The stream is not a sequence of valid frames: a varint over 10 bytes, or a frame larger
    than the limit. The connection cannot be resynchronised and must be closed."""


class IncompleteFrame(ValueError):
    """The input ends inside a frame (in its length prefix or its payload)."""


def encode_uvarint(value: int) -> bytes:
    """Encode a non-negative integer as an unsigned LEB128 varint.

    Raises ValueError if `value` is negative or does not fit in 64 bits.
    """
    if value < 0 or value >= 1 << 64:
        raise ValueError(f"uvarint out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_uvarint(buf: bytes | bytearray | memoryview, pos: int = 0) -> tuple[int, int]:
    """Decode an unsigned varint at `buf[pos:]`; return (value, position after it).

    Raises IncompleteFrame if `buf` ends inside the varint, FramingError if it runs over 10 bytes.
    """
    value = 0
    shift = 0
    for i in range(_MAX_VARINT_BYTES):
        if pos + i >= len(buf):
            raise IncompleteFrame("input ends inside a varint")
        byte = buf[pos + i]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if value >= 1 << 64:
                raise FramingError("varint overflows 64 bits")
            return value, pos + i + 1
        shift += 7
    raise FramingError("varint longer than 10 bytes")


def encode_frame(payload: bytes) -> bytes:
    """Prefix `payload` with its length. Raises FramingError if it exceeds MAX_FRAME_BYTES."""
    if len(payload) > MAX_FRAME_BYTES:
        raise FramingError(f"frame of {len(payload)} bytes exceeds {MAX_FRAME_BYTES}")
    return encode_uvarint(len(payload)) + payload


def decode_frame(buf: bytes | bytearray, pos: int = 0) -> tuple[bytes, int]:
    """Decode the one frame at `buf[pos:]`; return (payload, position after it).

    Raises IncompleteFrame if the frame is truncated, FramingError if it is malformed.
    """
    length, start = decode_uvarint(buf, pos)
    if length > MAX_FRAME_BYTES:
        raise FramingError(f"frame of {length} bytes exceeds {MAX_FRAME_BYTES}")
    end = start + length
    if end > len(buf):
        raise IncompleteFrame(f"frame needs {length} bytes, {len(buf) - start} available")
    return bytes(buf[start:end]), end


class FrameDecoder:
    """Incremental decoder for a byte stream: feed it chunks as they arrive, take whole frames.

    Raises FramingError (from `feed`) when the stream is malformed; `pending` says how many bytes
    of an unfinished frame are buffered.
    """

    __slots__ = ("_buf", "_max_frame")

    def __init__(self, max_frame: int = MAX_FRAME_BYTES) -> None:
        self._buf = bytearray()
        self._max_frame = max_frame

    @property
    def pending(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Append `data`; return every frame now complete, in order."""
        self._buf += data
        frames: list[bytes] = []
        pos = 0
        buf = self._buf
        while pos < len(buf):
            try:
                length, start = decode_uvarint(buf, pos)
            except IncompleteFrame:
                break
            if length > self._max_frame:
                raise FramingError(f"frame of {length} bytes exceeds {self._max_frame}")
            end = start + length
            if end > len(buf):
                break
            frames.append(bytes(buf[start:end]))
            pos = end
        if pos:
            del buf[:pos]
        return frames
