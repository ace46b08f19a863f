"""Framing: unsigned varint length prefix + payload, as CometBFT's protoio writes it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.abci.codec import (
    FrameDecoder,
    FramingError,
    IncompleteFrame,
    decode_frame,
    decode_uvarint,
    encode_frame,
    encode_uvarint,
)

payloads = st.lists(st.binary(max_size=300), max_size=20)


def test_uvarint_known_vectors() -> None:
    # Go's binary.PutUvarint
    assert encode_uvarint(0) == b"\x00"
    assert encode_uvarint(1) == b"\x01"
    assert encode_uvarint(127) == b"\x7f"
    assert encode_uvarint(128) == b"\x80\x01"
    assert encode_uvarint(300) == b"\xac\x02"
    assert encode_uvarint(2**64 - 1) == b"\xff" * 9 + b"\x01"


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_uvarint_round_trip(value: int) -> None:
    encoded = encode_uvarint(value)
    assert decode_uvarint(encoded) == (value, len(encoded))


@given(st.binary(max_size=1000))
def test_frame_round_trip(payload: bytes) -> None:
    frame = encode_frame(payload)
    assert decode_frame(frame) == (payload, len(frame))


@given(payloads, st.data())
def test_decoder_reassembles_split_frames(frames: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(encode_frame(p) for p in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder = FrameDecoder()
    out: list[bytes] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        out += decoder.feed(stream[start:cut])
        start = cut
    assert out == frames
    assert decoder.pending == 0


@given(st.binary(min_size=1, max_size=300), st.data())
def test_invalid_truncated_frame_is_incomplete(payload: bytes, data: st.DataObject) -> None:
    frame = encode_frame(payload)
    cut = data.draw(st.integers(0, len(frame) - 1))
    with pytest.raises(IncompleteFrame):
        decode_frame(frame[:cut])
    decoder = FrameDecoder()
    assert decoder.feed(frame[:cut]) == []
    assert decoder.pending == cut
    assert decoder.feed(frame[cut:]) == [payload]


def test_invalid_truncated_varint() -> None:
    with pytest.raises(IncompleteFrame):
        decode_uvarint(b"\x80\x80")
    with pytest.raises(IncompleteFrame):
        decode_uvarint(b"")


def test_invalid_varint_longer_than_ten_bytes() -> None:
    with pytest.raises(FramingError):
        decode_uvarint(b"\x80" * 10 + b"\x01")
    with pytest.raises(FramingError):
        FrameDecoder().feed(b"\xff" * 11)


def test_invalid_varint_over_64_bits() -> None:
    with pytest.raises(FramingError):
        decode_uvarint(b"\xff" * 9 + b"\x7f")


def test_invalid_frame_over_limit() -> None:
    decoder = FrameDecoder(max_frame=10)
    with pytest.raises(FramingError):
        decoder.feed(encode_uvarint(11))
    with pytest.raises(FramingError):
        decode_frame(encode_uvarint(2**31))


def test_invalid_uvarint_out_of_range() -> None:
    with pytest.raises(ValueError):
        encode_uvarint(-1)
    with pytest.raises(ValueError):
        encode_uvarint(2**64)
