"""CometBFT's signed headers and validator sets as the light client sees them, and the bytes
CometBFT hashes and signs, recomputed here so nothing a node computed is taken on trust.

Parsed from CometBFT's RPC JSON (`/commit`, `/validators`), which the node's API relays unchanged
(GET /v1/light/signed_header/{h}, /v1/light/validators/{h}). The encodings follow CometBFT
v0.38 exactly (types/block.go Header.Hash, types/validator.go Bytes, types/canonical.go,
crypto/merkle): gogoproto's wire format, written by hand because it is tiny and fixed.
Parsing raises LightClientError("malformed_header", ...) on any shape error.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from voxpop.client.errors import LightClientError

BLOCK_ID_FLAG_ABSENT = 1
BLOCK_ID_FLAG_COMMIT = 2
BLOCK_ID_FLAG_NIL = 3
PRECOMMIT_TYPE = 2
ED25519_KEY_TYPE = "tendermint/PubKeyEd25519"


# --- protobuf wire format (the subset CometBFT's hashed and signed messages use) -------------


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64 is ten bytes of two's complement, as in Go
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _uint_field(num: int, value: int) -> bytes:
    return _varint(num << 3) + _varint(value) if value else b""


def _bytes_field(num: int, value: bytes) -> bytes:
    return _varint(num << 3 | 2) + _varint(len(value)) + value if value else b""


def _message_field(num: int, value: bytes) -> bytes:
    """A non-nullable embedded message: gogoproto writes it even when empty."""
    return _varint(num << 3 | 2) + _varint(len(value)) + value


def _sfixed64_field(num: int, value: int) -> bytes:
    return _varint(num << 3 | 1) + value.to_bytes(8, "little", signed=True) if value else b""


# --- Merkle (crypto/merkle: RFC 6962 with an empty tree of sha256("")) -----------------------


def hash_from_byte_slices(items: list[bytes]) -> bytes:
    """CometBFT's merkle.HashFromByteSlices."""
    n = len(items)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + items[0]).digest()
    k = 1 << ((n - 1).bit_length() - 1)  # the largest power of two below n
    left = hash_from_byte_slices(items[:k])
    right = hash_from_byte_slices(items[k:])
    return hashlib.sha256(b"\x01" + left + right).digest()


# --- types ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timestamp:
    """A header or vote time as protobuf holds it: seconds and nanoseconds since the epoch."""

    seconds: int
    nanos: int

    def encode(self) -> bytes:
        return _uint_field(1, self.seconds) + _uint_field(2, self.nanos)

    @property
    def unix_ns(self) -> int:
        return self.seconds * 1_000_000_000 + self.nanos


@dataclass(frozen=True, slots=True)
class BlockID:
    hash: bytes
    parts_total: int
    parts_hash: bytes

    def encode(self) -> bytes:
        parts = _uint_field(1, self.parts_total) + _bytes_field(2, self.parts_hash)
        return _bytes_field(1, self.hash) + _message_field(2, parts)

    def is_zero(self) -> bool:
        return not self.hash and not self.parts_total and not self.parts_hash


@dataclass(frozen=True, slots=True)
class Header:
    version_block: int
    version_app: int
    chain_id: str
    height: int
    time: Timestamp
    last_block_id: BlockID
    last_commit_hash: bytes
    data_hash: bytes
    validators_hash: bytes
    next_validators_hash: bytes
    consensus_hash: bytes
    app_hash: bytes
    last_results_hash: bytes
    evidence_hash: bytes
    proposer_address: bytes

    def hash(self) -> bytes:
        """Header.Hash: the Merkle root of the fields' encodings, in the header's field order."""

        def wrapped(value: bytes) -> bytes:  # cdcEncode: a BytesValue/StringValue, or nothing
            return _bytes_field(1, value)

        return hash_from_byte_slices(
            [
                _uint_field(1, self.version_block) + _uint_field(2, self.version_app),
                wrapped(self.chain_id.encode()),
                _uint_field(1, self.height),
                self.time.encode(),
                self.last_block_id.encode(),
                wrapped(self.last_commit_hash),
                wrapped(self.data_hash),
                wrapped(self.validators_hash),
                wrapped(self.next_validators_hash),
                wrapped(self.consensus_hash),
                wrapped(self.app_hash),
                wrapped(self.last_results_hash),
                wrapped(self.evidence_hash),
                wrapped(self.proposer_address),
            ]
        )


@dataclass(frozen=True, slots=True)
class CommitSig:
    block_id_flag: int
    validator_address: bytes
    timestamp: Timestamp
    signature: bytes


@dataclass(frozen=True, slots=True)
class Commit:
    height: int
    round: int
    block_id: BlockID
    signatures: tuple[CommitSig, ...]

    def vote_sign_bytes(self, chain_id: str, index: int) -> bytes:
        """What validator `index` signed: its precommit, canonical and length-delimited."""
        sig = self.signatures[index]
        block_id = self.block_id if sig.block_id_flag == BLOCK_ID_FLAG_COMMIT else None
        body = (
            _uint_field(1, PRECOMMIT_TYPE)
            + _sfixed64_field(2, self.height)
            + _sfixed64_field(3, self.round)
            + (_message_field(4, block_id.encode()) if block_id and not block_id.is_zero() else b"")
            + _message_field(5, sig.timestamp.encode())
            + _bytes_field(6, chain_id.encode())
        )
        return _varint(len(body)) + body


@dataclass(frozen=True, slots=True)
class SignedHeader:
    header: Header
    commit: Commit

    @property
    def height(self) -> int:
        return self.header.height


@dataclass(frozen=True, slots=True)
class Validator:
    pub_key: bytes  # Ed25519, 32 bytes
    voting_power: int

    @property
    def address(self) -> bytes:
        return hashlib.sha256(self.pub_key).digest()[:20]

    def encode(self) -> bytes:
        """SimpleValidator{pub_key: PublicKey{ed25519}, voting_power}."""
        pub_key = _varint(1 << 3 | 2) + _varint(len(self.pub_key)) + self.pub_key
        return _message_field(1, pub_key) + _uint_field(2, self.voting_power)


@dataclass(frozen=True, slots=True)
class ValidatorSet:
    validators: tuple[Validator, ...]

    @classmethod
    def from_powers(cls, powers: Iterable[tuple[bytes, int]]) -> ValidatorSet:
        """The set of these (Ed25519 key, power) pairs in CometBFT's order: power descending,
        then address ascending (e.g. a genesis file's validators, whose set signs block 1)."""
        validators = [Validator(pub, power) for pub, power in powers]
        return cls(tuple(sorted(validators, key=lambda v: (-v.voting_power, v.address))))

    def hash(self) -> bytes:
        return hash_from_byte_slices([v.encode() for v in self.validators])

    @property
    def total_power(self) -> int:
        return sum(v.voting_power for v in self.validators)

    def by_address(self) -> dict[bytes, tuple[int, Validator]]:
        return {v.address: (i, v) for i, v in enumerate(self.validators)}


# --- parsing CometBFT's RPC JSON --------------------------------------------------------------


def parse_rfc3339(text: Any) -> Timestamp:
    """CometBFT's times: RFC 3339 in UTC with up to nine fractional digits."""
    if not isinstance(text, str) or not text.endswith("Z"):
        raise ValueError(f"not an RFC 3339 UTC time: {text!r}")
    main, _, frac = text[:-1].partition(".")
    if frac and (not frac.isdigit() or len(frac) > 9):
        raise ValueError(f"bad fraction of a second: {text!r}")
    seconds = calendar.timegm(datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").timetuple())
    return Timestamp(seconds, int(frac.ljust(9, "0")) if frac else 0)


def _hex(text: Any) -> bytes:
    if not isinstance(text, str):
        raise TypeError("expected hex text")
    return bytes.fromhex(text)


def _b64(text: Any) -> bytes:
    if text is None:
        return b""
    if not isinstance(text, str):
        raise TypeError("expected base64 text")
    return base64.b64decode(text, validate=True)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"expected an integer, got {value!r}")
    return int(value)


def _block_id(d: Any) -> BlockID:
    return BlockID(_hex(d["hash"]), _int(d["parts"]["total"]), _hex(d["parts"]["hash"]))


def _parse_header(h: Any) -> Header:
    return Header(
        version_block=_int(h["version"]["block"]),
        version_app=_int(h["version"].get("app", 0)),
        chain_id=str(h["chain_id"]),
        height=_int(h["height"]),
        time=parse_rfc3339(h["time"]),
        last_block_id=_block_id(h["last_block_id"]),
        last_commit_hash=_hex(h["last_commit_hash"]),
        data_hash=_hex(h["data_hash"]),
        validators_hash=_hex(h["validators_hash"]),
        next_validators_hash=_hex(h["next_validators_hash"]),
        consensus_hash=_hex(h["consensus_hash"]),
        app_hash=_hex(h["app_hash"]),
        last_results_hash=_hex(h["last_results_hash"]),
        evidence_hash=_hex(h["evidence_hash"]),
        proposer_address=_hex(h["proposer_address"]),
    )


def _parse_commit(c: Any) -> Commit:
    return Commit(
        height=_int(c["height"]),
        round=_int(c["round"]),
        block_id=_block_id(c["block_id"]),
        signatures=tuple(
            CommitSig(
                block_id_flag=_int(s["block_id_flag"]),
                validator_address=_hex(s["validator_address"]),
                timestamp=parse_rfc3339(s["timestamp"]),
                signature=_b64(s["signature"]),
            )
            for s in c["signatures"]
        ),
    )


def _parse_validator(v: Any) -> Validator:
    key = v["pub_key"]
    if key["type"] != ED25519_KEY_TYPE:
        raise ValueError(f"unsupported validator key type {key['type']!r}")
    pub_key = _b64(key["value"])
    if len(pub_key) != 32:
        raise ValueError("an Ed25519 key is 32 bytes")
    return Validator(pub_key, _int(v["voting_power"]))


def _malformed(what: str, exc: Exception) -> LightClientError:
    return LightClientError("malformed_header", f"malformed {what} from the node: {exc!r}")


_SHAPE_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError, binascii.Error)


def parse_signed_header(d: Any) -> SignedHeader:
    """A SignedHeader from CometBFT's JSON (`/commit`'s `signed_header`)."""
    try:
        return SignedHeader(_parse_header(d["header"]), _parse_commit(d["commit"]))
    except _SHAPE_ERRORS as exc:
        raise _malformed("signed header", exc) from None


def parse_validator_set(items: Any) -> ValidatorSet:
    """A ValidatorSet from CometBFT's JSON (`/validators`' list, every page, in its order)."""
    try:
        return ValidatorSet(tuple(_parse_validator(v) for v in items))
    except _SHAPE_ERRORS as exc:
        raise _malformed("validator set", exc) from None
