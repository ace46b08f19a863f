"""The transaction format: a canonical, versioned CBOR document signed with Ed25519.

    Tx      = {"v": 1, "body": Body, "sig": bytes(64)}
    Body    = {"chain_id": text, "pub_key": bytes(32), "sequence": uint, "fee": uint,
               "gas_limit": uint, "timeout_height": uint, "memo": text, "msgs": [Msg, ...],
               "fee_granter"?: bytes(20)}   (optional: absent unless another account pays)
    Msg     = {"type": text, "value": {text: any}}
    sign bytes = b"voxpop/tx/v1\\n" || canonical_cbor(Body)

The domain prefix keeps tx signatures from being valid for any other voxpop message; the chain id
and the signer's sequence inside the body prevent replay across chains and within one. See
docs/protocol/transactions.md for the full rules and test vectors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voxpop.chain.encoding import decode_canonical, encode
from voxpop.chain.errors import (
    MemoTooLargeError,
    TooManyMessagesError,
    TxDecodeError,
    TxTooLargeError,
)

TX_VERSION = 1
SIGN_DOMAIN = b"voxpop/tx/v1\n"
MAX_UINT64 = (1 << 64) - 1
# Hard limits of the format; chain parameters may set tighter ones.
FORMAT_MAX_TX_BYTES = 1 << 20
FORMAT_MAX_MSGS = 256
FORMAT_MAX_MEMO_BYTES = 1024
_HEAD = bytes.fromhex("a3617601637369675840")  # map(3), "v": 1, "sig": bytes(64)
_BODY_KEY = bytes.fromhex("64626f6479")  # "body"
_BODY_KEYS = frozenset(
    ("chain_id", "pub_key", "sequence", "fee", "gas_limit", "timeout_height", "memo", "msgs")
)
# Optional keys: absent when unused, so a tx that does not use them encodes as before
_FEE_GRANTER = "fee_granter"
ADDRESS_LEN = 20


@dataclass(frozen=True, slots=True)
class RawMsg:
    type: str
    value: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TxBody:
    chain_id: str
    pub_key: bytes
    sequence: int
    fee: int
    gas_limit: int
    timeout_height: int
    memo: str
    msgs: tuple[RawMsg, ...]
    # The account whose fee allowance pays the fee; empty: the signer pays
    fee_granter: bytes = b""

    def to_value(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "chain_id": self.chain_id,
            "pub_key": self.pub_key,
            "sequence": self.sequence,
            "fee": self.fee,
            "gas_limit": self.gas_limit,
            "timeout_height": self.timeout_height,
            "memo": self.memo,
            "msgs": [{"type": m.type, "value": dict(m.value)} for m in self.msgs],
        }
        if self.fee_granter:
            value[_FEE_GRANTER] = self.fee_granter
        return value

    def sign_bytes(self) -> bytes:
        return SIGN_DOMAIN + encode(self.to_value())


@dataclass(frozen=True, slots=True)
class Tx:
    body: TxBody
    signature: bytes
    raw: bytes  # the exact bytes received; hash and size are computed over these
    sign_bytes: bytes
    hash: bytes  # sha256(raw)


def tx_hash(raw: bytes) -> bytes:
    return hashlib.sha256(raw).digest()


def _uint(body: Mapping[str, Any], key: str) -> int:
    value = body[key]
    # Verify: a non-negative integer within 64 bits (bool is an int subclass: refuse it)
    if type(value) is not int or not 0 <= value <= MAX_UINT64:
        raise TxDecodeError(f"{key} must be an unsigned 64-bit integer")
    return value


def decode_tx(data: bytes, max_bytes: int = FORMAT_MAX_TX_BYTES) -> Tx:
    """Decode and structurally validate a tx. Signatures and state are checked elsewhere.

    Raises TxTooLargeError, TxDecodeError, TooManyMessagesError, MemoTooLargeError.
    """
    # Verify the size before parsing anything
    if len(data) > min(max_bytes, FORMAT_MAX_TX_BYTES):
        raise TxTooLargeError(f"tx is {len(data)} bytes; the limit is {max_bytes}")
    doc = decode_canonical(data)
    # Verify the envelope
    if not isinstance(doc, dict) or set(doc) != {"v", "body", "sig"}:
        raise TxDecodeError("tx must be a map with exactly v, body, sig")
    if doc["v"] != TX_VERSION or type(doc["v"]) is not int:
        raise TxDecodeError(f"unsupported tx version; this chain reads version {TX_VERSION}")
    sig, body = doc["sig"], doc["body"]
    if not isinstance(sig, bytes) or len(sig) != 64:
        raise TxDecodeError("sig must be 64 bytes")
    # Verify the body's fields and their types
    if not isinstance(body, dict) or set(body) - {_FEE_GRANTER} != _BODY_KEYS:
        raise TxDecodeError(
            f"body must have exactly the keys {sorted(_BODY_KEYS)}, and optionally fee_granter"
        )
    fee_granter = body.get(_FEE_GRANTER, b"")
    if _FEE_GRANTER in body and (
        not isinstance(fee_granter, bytes) or len(fee_granter) != ADDRESS_LEN
    ):
        raise TxDecodeError("fee_granter must be a 20-byte address")
    chain_id, pub_key, memo, msgs = body["chain_id"], body["pub_key"], body["memo"], body["msgs"]
    if not isinstance(chain_id, str) or not 0 < len(chain_id) <= 64:
        raise TxDecodeError("chain_id must be text of 1 to 64 characters")
    if not isinstance(pub_key, bytes) or len(pub_key) != 32:
        raise TxDecodeError("pub_key must be 32 bytes")
    if not isinstance(memo, str):
        raise TxDecodeError("memo must be text")
    if len(memo.encode()) > FORMAT_MAX_MEMO_BYTES:
        raise MemoTooLargeError(f"memo exceeds {FORMAT_MAX_MEMO_BYTES} bytes")
    if not isinstance(msgs, list):
        raise TxDecodeError("msgs must be a list")
    if not msgs:
        raise TxDecodeError("a tx needs at least one message")
    if len(msgs) > FORMAT_MAX_MSGS:
        raise TooManyMessagesError(f"{len(msgs)} messages; the format allows {FORMAT_MAX_MSGS}")
    raw_msgs = []
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or set(m) != {"type", "value"}:
            raise TxDecodeError(f"msgs[{i}] must be a map with exactly type, value")
        if not isinstance(m["type"], str) or not isinstance(m["value"], dict):
            raise TxDecodeError(f"msgs[{i}]: type must be text and value a map")
        raw_msgs.append(RawMsg(m["type"], m["value"]))
    tx_body = TxBody(
        chain_id=chain_id,
        pub_key=pub_key,
        sequence=_uint(body, "sequence"),
        fee=_uint(body, "fee"),
        gas_limit=_uint(body, "gas_limit"),
        timeout_height=_uint(body, "timeout_height"),
        memo=memo,
        msgs=tuple(raw_msgs),
        fee_granter=fee_granter,
    )
    # The doc is canonical with exactly keys v, sig, body (sorted length-first), so the body's
    # encoding is the tail of the input after a fixed 79-byte head; slicing saves a re-encode.
    if data[:10] == _HEAD and data[74:79] == _BODY_KEY:
        sign_bytes = SIGN_DOMAIN + data[79:]
    else:  # pragma: no cover - unreachable for canonical input; kept as the reference definition
        sign_bytes = SIGN_DOMAIN + encode(body)
    return Tx(body=tx_body, signature=sig, raw=data, sign_bytes=sign_bytes, hash=tx_hash(data))


def encode_tx(body: TxBody, signature: bytes) -> bytes:
    return encode({"v": TX_VERSION, "body": body.to_value(), "sig": signature})


def make_body(
    *,
    chain_id: str,
    pub_key: bytes,
    sequence: int,
    fee: int,
    gas_limit: int,
    msgs: Sequence[tuple[str, Mapping[str, Any]]],
    memo: str = "",
    timeout_height: int = 0,
    fee_granter: bytes = b"",
) -> TxBody:
    return TxBody(
        chain_id=chain_id,
        pub_key=pub_key,
        sequence=sequence,
        fee=fee,
        gas_limit=gas_limit,
        timeout_height=timeout_height,
        memo=memo,
        msgs=tuple(RawMsg(t, v) for t, v in msgs),
        fee_granter=fee_granter,
    )
