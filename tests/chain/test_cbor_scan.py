"""scan_cbor: the subset of CBOR untrusted bytes may use, checked in one linear pass."""

from __future__ import annotations

import contextlib
import time

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.chain.cbor_scan import DEFAULT_MAX_DEPTH, scan_cbor
from voxpop.chain.encoding import decode_canonical, encode
from voxpop.chain.errors import TxDecodeError

plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 64), max_value=(1 << 64) - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@given(plain)
def test_canonical_plain_values_round_trip(value: object) -> None:
    data = encode(value)
    assert decode_canonical(data) == value


@given(st.binary(max_size=200))
def test_fuzz_scan_raises_only_decode_errors(data: bytes) -> None:
    with contextlib.suppress(TxDecodeError):
        scan_cbor(data)


def shared_reference_bomb(depth: int) -> bytes:
    """x = [x', x'] with the second a reference to the first, `depth` times: a few bytes each level,
    2^depth items once references are expanded."""
    item = b"\x80"
    for i in range(depth):
        item = b"\xd8\x1c\x82" + item + b"\xd8\x1d" + cbor2.dumps(i)
    return item


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (shared_reference_bomb(30), "tags"),
        (b"\xc2\x59\x07\xd0" + b"\xff" * 2000, "tags"),  # a 16,000-bit bignum
        (b"\xa1\x07\x00", "keys must be text"),
        (b"\xa1\x41a\x00", "keys must be text"),
        (b"\x9f\x01\xff", "indefinite"),
        (b"\x7f\x61a\xff", "indefinite"),
        (b"\xfb" + b"\x00" * 8, "floats"),
        (b"\xf7", "floats"),  # undefined
        (b"\xf8\x20", "floats"),  # simple value 32
        (b"\x18\x05", "shortest form"),
        (b"\x19\x00\xff", "shortest form"),
        (b"\x5b" + b"\xff" * 8, "exceeds the input"),
        (b"\x9b" + b"\x7f" + b"\xff" * 7, "exceeds the input"),
        (b"\x62a", "exceeds the input"),
        (b"\x82\x01", "exceeds the input"),
        (b"\x19\x01", "ends in the middle"),
        (b"\x01\x02", "after the end"),
        (b"", "ends in the middle"),
        (b"\x81" * (DEFAULT_MAX_DEPTH + 1) + b"\x00", "deeper"),
    ],
)
def test_invalid_outside_the_subset(data: bytes, reason: str) -> None:
    with pytest.raises(TxDecodeError, match=reason):
        decode_canonical(data)


def test_depth_limit_is_inclusive() -> None:
    scan_cbor(b"\x81" * DEFAULT_MAX_DEPTH + b"\x00")


def test_invalid_utf8_is_a_decode_error() -> None:
    with pytest.raises(TxDecodeError):
        decode_canonical(b"\x62\xff\xfe")


def test_scan_time_is_linear() -> None:
    """The per-byte cost of a large input stays near that of a small one."""

    def per_byte(n: int) -> float:
        data = encode([b"x"] * n)
        best = min(_timed(lambda: decode_canonical(data)) for _ in range(3))
        return best / len(data)

    assert per_byte(100_000) < 4 * per_byte(1_000)


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def decode_by_reencoding(data: bytes) -> object:
    """The definition `decode_canonical` implements without re-encoding: scan, decode, re-encode
    canonically, and refuse the input unless the two byte strings are equal."""
    scan_cbor(data)
    try:
        value = cbor2.loads(data)
        again = cbor2.dumps(value, canonical=True)
    except Exception as exc:
        raise TxDecodeError(type(exc).__name__) from None
    if again != data:
        raise TxDecodeError("not canonical CBOR")
    return value


def outcome(decode: object, data: bytes) -> tuple[str, object]:
    try:
        return "ok", decode(data)  # type: ignore[operator]
    except TxDecodeError:
        return "refused", None


def same_as_reencoding(data: bytes) -> None:
    assert outcome(decode_canonical, data) == outcome(decode_by_reencoding, data), data.hex()


@given(plain)
def test_any_key_order_is_judged_as_by_reencoding(value: object) -> None:
    """cbor2 without canonical=True writes maps in insertion order, which Hypothesis varies."""
    same_as_reencoding(cbor2.dumps(value))


@given(plain, st.data())
def test_mutated_encodings_are_judged_as_by_reencoding(value: object, data: st.DataObject) -> None:
    raw = bytearray(encode(value))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        at = data.draw(st.integers(min_value=0, max_value=len(raw)))
        match data.draw(st.sampled_from(["flip", "insert", "delete"])):
            case "flip" if at < len(raw):
                raw[at] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
            case "insert":
                raw.insert(at, data.draw(st.integers(min_value=0, max_value=255)))
            case "delete" if at < len(raw):
                del raw[at]
    same_as_reencoding(bytes(raw))


@given(st.binary(max_size=60))
def test_random_bytes_are_judged_as_by_reencoding(data: bytes) -> None:
    same_as_reencoding(data)


@pytest.mark.parametrize(
    "data",
    [
        b"\xa2\x61a\x01\x61a\x02",  # a key repeated
        b"\xa2\x61b\x01\x61a\x02",  # same length, bytes out of order
        b"\xa2\x62aa\x01\x61b\x02",  # a longer key first (length-first order)
        b"\xa2\x61a\x01\x62aa\x02",  # canonical
        b"\xa1\x61a\xa2\x61b\x01\x61a\x02",  # out of order in a nested map
        b"\x82\xa1\x61b\x01\xa1\x61a\x01",  # each map has its own order
        b"\xa2\x60\x01\x61a\x02",  # the empty key first
        b"\xa2" + b"\x78\x18" + b"a" * 24 + b"\x01" + b"\x77" + b"b" * 23 + b"\x02",
        b"\xa2" + b"\x77" + b"b" * 23 + b"\x01" + b"\x78\x18" + b"a" * 24 + b"\x02",
    ],
)
def test_map_key_orders_are_judged_as_by_reencoding(data: bytes) -> None:
    same_as_reencoding(data)


def test_repeated_and_unordered_keys_are_refused() -> None:
    for data in (b"\xa2\x61a\x01\x61a\x02", b"\xa2\x61b\x01\x61a\x02", b"\xa2\x62aa\x01\x61b\x02"):
        with pytest.raises(TxDecodeError, match="canonical order"):
            decode_canonical(data)
    assert decode_canonical(b"\xa2\x61a\x01\x62aa\x02") == {"a": 1, "aa": 2}
