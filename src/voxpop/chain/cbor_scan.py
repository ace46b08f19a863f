"""A linear-time well-formedness scan of untrusted CBOR, run before any decoder sees the bytes.

cbor2 decodes everything RFC 8949 allows, including shared references (tags 28/29), which let a few
bytes stand for a value exponentially larger than themselves, and bignums of any size. Our formats
need none of that, so every byte string from outside first passes this scan, which walks each data
item once and accepts only:

- unsigned and negative integers, byte strings, text strings, arrays, maps, and the simple values
  false, true and null;
- definite lengths in their shortest form (as canonical encoding requires anyway);
- map keys that are text strings;
- nesting at most `max_depth` containers deep, and no bytes after the single top-level item.

No tags (so no shared references, bignums, dates or sets), no floats, no indefinite lengths. Each
step advances the position by at least one byte, so time is linear in the input's length, and a
declared length is checked against the bytes that remain before anything is allocated.
"""

from __future__ import annotations

from voxpop.chain.errors import TxDecodeError

DEFAULT_MAX_DEPTH = 32

_TEXT = 3
_MAP = 5
_TAG = 6
_FALSE_TRUE_NULL = (20, 21, 22)
# Width of a 1-, 2-, 4- or 8-byte argument, and the least value it may carry in shortest form
_ARG_WIDTH = {24: (1, 24), 25: (2, 1 << 8), 26: (4, 1 << 16), 27: (8, 1 << 32)}


def scan_cbor(
    data: bytes, max_depth: int = DEFAULT_MAX_DEPTH, *, canonical_keys: bool = False
) -> None:
    """Raise TxDecodeError unless `data` is one well-formed data item of the subset above.

    With `canonical_keys`, also unless each map's keys are in canonical order: their encodings
    strictly increasing bytewise (for text keys in shortest form this is RFC 7049's length-first
    order, which cbor2's canonical mode writes), so no key repeats. Within the subset that is
    the only freedom left to an encoder, so such an item is the canonical encoding of its value.
    """
    end = len(data)
    pos = 0
    # Items still to read in the open container (a map counts keys and values), whether it is a
    # map, its last key's encoding, and the same for each container around it. Written for
    # speed: it runs on every tx.
    left = 1
    in_map = False
    last_key = b""
    outer: list[tuple[int, bool, bytes]] = []
    while True:
        if not left:
            if not outer:
                break
            left, in_map, last_key = outer.pop()
            continue
        # Verify there is an initial byte to read
        if pos >= end:
            raise TxDecodeError("CBOR ends in the middle of an item")
        start = pos
        initial = data[pos]
        pos += 1
        major = initial >> 5
        # Verify map keys are text (a map's item is a key when the count left is even)
        is_key = in_map and not left & 1
        if is_key and major != _TEXT:
            raise TxDecodeError("CBOR map keys must be text strings")
        left -= 1
        info = initial & 0x1F
        if major >= _TAG:
            if major == _TAG:
                raise TxDecodeError("CBOR tags are not allowed")
            # Verify the simple value is false, true or null (no floats, no other simple values)
            if info not in _FALSE_TRUE_NULL:
                raise TxDecodeError("CBOR floats and simple values other than false/true/null")
            continue
        if info < 24:
            arg = info
        else:
            width_min = _ARG_WIDTH.get(info)
            # Verify a definite length (no indefinite-length items, no reserved values)
            if width_min is None:
                raise TxDecodeError("CBOR indefinite lengths and reserved values are not allowed")
            width, minimum = width_min
            if pos + width > end:
                raise TxDecodeError("CBOR ends in the middle of an item")
            arg = int.from_bytes(data[pos : pos + width], "big")
            pos += width
            # Verify the argument is in its shortest form
            if arg < minimum:
                raise TxDecodeError("CBOR integer or length not in its shortest form")
        if major < 2:  # unsigned or negative integer: at most 64 bits by construction
            continue
        if major <= _TEXT:  # byte or text string
            # Verify the declared length fits in what remains
            if arg > end - pos:
                raise TxDecodeError("CBOR length exceeds the input")
            pos += arg
            if is_key and canonical_keys:
                # Verify the key's encoding sorts after the map's previous key (first: after b"")
                key = data[start:pos]
                if key <= last_key:
                    raise TxDecodeError("CBOR map keys not in canonical order, or repeated")
                last_key = key
            continue
        # Verify an array or map declares no more items than bytes remain (each takes one)
        count = arg << 1 if major == _MAP else arg
        if count > end - pos:
            raise TxDecodeError("CBOR length exceeds the input")
        # Verify the nesting depth
        if len(outer) >= max_depth:
            raise TxDecodeError(f"CBOR nested deeper than {max_depth}")
        outer.append((left, in_map, last_key))
        left = count
        in_map = major == _MAP
        last_key = b""
    # Verify nothing follows the single top-level item
    if pos != end:
        raise TxDecodeError("bytes after the end of the CBOR item")
