"""The tx-path fuzz campaign: structure-aware inputs, an oracle, and a real app driven through every
ABCI step. `bench/fuzz.py` runs it in several processes; tests/chain/test_fuzz_campaign.py runs a
short version in-process.

Inputs come in five kinds:

- `raw`: CBOR generated at the byte level (RFC 8949): every major type, every argument width
  (shortest or not), indefinite lengths, tags 0..2^64-1, bignums, shared-reference bombs (tags
  28/29), floats, simple values, duplicate, unsorted and non-text map keys, truncations, trailing
  bytes, declared lengths far beyond the input, deep and wide nesting. None of it is a signed tx,
  so every one must be rejected.
- `shaped`: a plausible tx (any module's message) as a tree of encoded items, edited at one or two
  places (a field replaced by a generated item, a key added, removed, duplicated or reordered, a
  length made indefinite or wide), then signed by its signer over the edited body bytes, so the
  edit reaches message parsing and the state machine. Edits the spec forbids anywhere ("no floats,
  tags, or extra keys", canonical form) must be rejected; other edits are unjudged.
- `tampered`: a valid signed bank tx with its bytes changed after signing (bit flip, byte set,
  insert, delete, truncate, append, duplicate a range): must be rejected, and charge nothing.
- `judged`: a bank tx (Send, MultiSend) from an account the reference model tracks, valid or with
  one field changed and then re-signed. `judge` predicts reject (changes nothing), fail (a block
  charges the fee and the sequence, nothing else) or ok (and the transfers); the app must agree,
  and after each block every tracked balance and sequence must equal the model's.
- `chaos`: a well-formed tx of any module from an untracked account: unjudged, checked only for
  typed results and invariants. Half are written by hand (`chaos_msgs`); half are made from the
  message declarations (`DeclaredMsgs`), so every message type the app routes is sent, a module
  added later included.

Every step must return a typed result: an exception other than `ChainError` from decode_tx, or
any exception from preverify, check_tx, prepare/process_proposal, finalize_block or commit, or a
result with code 1 (internal), is "uncaught". Decode time per byte is measured for every input of
at least 64 bytes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import shutil
import struct
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from voxpop.chain import module_accounts
from voxpop.chain.abci import (
    BlockIDFlag,
    CommitInfo,
    Event,
    ExecTxResult,
    ProposalStatus,
    RequestCheckTx,
    RequestFinalizeBlock,
    RequestInitChain,
    RequestPrepareProposal,
    RequestProcessProposal,
    RequestQuery,
    Validator,
    VoteInfo,
)
from voxpop.chain.app import VoxApp, check_invariants
from voxpop.chain.encoding import decode_state, decode_uint, encode
from voxpop.chain.errors import ChainError
from voxpop.chain.fields import (
    AddressKind,
    BytesKind,
    Kind,
    ListKind,
    MsgsKind,
    MsgTypeKind,
    Secp256k1KeyKind,
    TextKind,
    TupleKind,
    UintKind,
    X25519KeyKind,
)
from voxpop.chain.genesis import default_app_state
from voxpop.chain.module import Msg, MsgRoute, msg_fields
from voxpop.chain.module_accounts import FEE_COLLECTOR, module_address
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.bank.state import BLOCKED_RECIPIENTS
from voxpop.chain.modules.consent.state import DEFAULT_PURPOSES
from voxpop.chain.modules.gov.actions import ACTIONS, ActionsKind
from voxpop.chain.modules.grant.state import attestation_sign_bytes
from voxpop.chain.modules.services.messages import (
    Ed25519KeyKind,
    EndpointKind,
    LanguageKind,
    ServiceKindKind,
)
from voxpop.chain.modules.skills.messages import SkillIdKind
from voxpop.chain.modules.staking.state import consensus_address
from voxpop.chain.modules.wasm.messages import ContractMsgKind, OptionalAddressKind
from voxpop.chain.registry import default_modules
from voxpop.chain.tx import SIGN_DOMAIN, decode_tx
from voxpop.crypto.address import AddressError, decode_address
from voxpop.crypto.encryption_keys import EncryptionKeys, derive_encryption_keys
from voxpop.crypto.keys import PrivateKey, address_from_pubkey
from voxpop.crypto.vouchers import derive_channel_id, sign_voucher
from voxpop.node.blockstore import AUX_DBS
from voxpop.store import MerkleStore

CHAIN_ID = "voxpop-fuzz"
GENESIS_TIME = 1_800_000_000
MIN_TIMED_BYTES = 64  # below this, constant overhead dominates decode time
MEASUREMENTS = 5  # at most, of one input's decode time: the least counts
U64 = (1 << 64) - 1


def _key(n: int) -> PrivateKey:
    return PrivateKey(hashlib.sha256(b"voxpop-fuzz/%d" % n).digest())


MODEL_KEYS = [_key(i) for i in range(8)]  # bank accounts the reference model tracks exactly
CHAOS_KEYS = [_key(100 + i) for i in range(8)]  # anything goes; never paid by judged txs
REGISTRAR = _key(200)
CONSENSUS = [_key(300), _key(301)]  # consensus keys of the genesis validators CHAOS_KEYS[0..1]
FUNDS = 10**12
SELF_BOND = 100_000_000
MODEL_ADDRS = [k.public_key.address for k in MODEL_KEYS]
CHAOS_ADDRS = [k.public_key.address for k in CHAOS_KEYS]
FEE_COLLECTOR_ADDR = module_address(FEE_COLLECTOR)
ENVELOPE_HEAD = bytes.fromhex("a3617601637369675840")  # map(3), "v": 1, "sig": bytes(64)


# --- CBOR at the byte level (RFC 8949) ----------------------------------------------------------


def head(major: int, n: int, width: int | None = None) -> bytes:
    """The initial byte and argument of an item; `width` (0, 1, 2, 4, 8 argument bytes) forces a
    possibly non-shortest form."""
    if width is None:
        width = 0 if n < 24 else 1 if n < 1 << 8 else 2 if n < 1 << 16 else 4 if n < 1 << 32 else 8
    if width == 0 and n < 24:
        return bytes([major << 5 | n])
    for w, info in ((1, 24), (2, 25), (4, 26), (8, 27)):
        if w >= width and n < 1 << (8 * w):
            return bytes([major << 5 | info]) + n.to_bytes(w, "big")
    raise ValueError("argument too large")


def _shortest_width(n: int) -> int:
    return 0 if n < 24 else 1 if n < 1 << 8 else 2 if n < 1 << 16 else 4 if n < 1 << 32 else 8


INTERESTING_UINTS = [0, 1, 23, 24, 255, 256, 65535, 65536, (1 << 32) - 1, 1 << 32, (1 << 63), U64]
INTERESTING_TAGS = [0, 1, 2, 3, 4, 5, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 32, 35, 36, 55799]
INTERESTING_TAGS += [256, 258, 259, 260, 261, 262, 1001, 0xFFFF, 0xFFFFFFFF, U64]


@dataclass(frozen=True, slots=True)
class Item:
    """Encoded bytes, and whether the spec forbids them anywhere in a tx (tags, floats, indefinite
    or non-shortest forms, non-text, duplicate or unsorted keys, malformed bytes)."""

    data: bytes
    forbidden: bool


class CborGen:
    """Random CBOR, built byte by byte so that forms a canonical encoder never makes appear too."""

    def __init__(self, rng: random.Random, deep_bombs: bool = True) -> None:
        self.rng = rng
        self.deep_bombs = deep_bombs

    def width(self, n: int) -> tuple[int | None, bool]:
        """A width for argument `n`: mostly shortest; sometimes wider (forbidden)."""
        if self.rng.random() < 0.9:
            return None, False
        w = self.rng.choice([1, 2, 4, 8])
        return w, w > _shortest_width(n)

    def uint(self) -> int:
        r = self.rng.random()
        if r < 0.5:
            return self.rng.choice(INTERESTING_UINTS)
        return self.rng.getrandbits(self.rng.choice([5, 8, 16, 32, 64]))

    def item(self, depth: int) -> Item:
        rng = self.rng
        families = [
            (self.integer, 10),
            (self.string, 10),
            (self.huge_claim, 2),
            (self.simple_or_float, 5),
            (self.bignum, 2),
        ]
        if depth > 0:
            families += [
                (self.array, 8),
                (self.map, 8),
                (self.indefinite, 3),
                (self.tagged, 5),
                (self.bomb, 2),
            ]
        fns, weights = zip(*families, strict=True)
        make: Callable[[int], Item] = rng.choices(fns, weights)[0]
        return make(depth)

    def integer(self, depth: int) -> Item:
        n = self.uint()
        w, wide = self.width(n)
        return Item(head(self.rng.choice([0, 1]), n, w), wide)

    def string(self, depth: int) -> Item:
        rng = self.rng
        size = rng.choice([0, 1, 19, 20, 21, 31, 32, 33, 63, 64, 65, rng.randrange(300)])
        if rng.random() < 0.01:
            size = rng.randrange(1000, 40_000)
        if rng.random() < 0.5:
            payload = rng.randbytes(size)
            w, wide = self.width(size)
            return Item(head(2, size, w) + payload, wide)
        kind = rng.random()
        if kind < 0.6:
            payload = bytes(rng.choice(b"abcxyz/_ 09") for _ in range(min(size, 300)))
        elif kind < 0.85:
            text = "".join(chr(rng.choice([0xE9, 0x20AC, 0x1F600, 0x41])) for _ in range(8))
            payload = text.encode()
        else:
            payload = rng.randbytes(size)  # mostly invalid UTF-8
        w, wide = self.width(len(payload))
        return Item(head(3, len(payload), w) + payload, wide or not _is_utf8(payload))

    def huge_claim(self, depth: int) -> Item:
        """A string or container declaring far more than follows."""
        n = self.rng.choice([1 << 20, 1 << 31, (1 << 32) - 1, 1 << 40, 1 << 63, U64])
        return Item(head(self.rng.choice([2, 3, 4, 5]), n) + self.rng.randbytes(8), True)

    def simple_or_float(self, depth: int) -> Item:
        rng = self.rng
        r = rng.random()
        if r < 0.4:
            return Item(bytes([rng.choice([0xF4, 0xF5, 0xF6])]), False)
        if r < 0.5:  # undefined, simple(n), reserved forms 0xf8 < 32
            return Item(rng.choice([b"\xf7", bytes([0xE0 + rng.randrange(20)])]), False)
        if r < 0.55:
            return Item(b"\xf8" + bytes([rng.randrange(256)]), True)
        if r < 0.6:  # reserved additional information, or a stray break
            return Item(bytes([rng.randrange(8) << 5 | rng.choice([28, 29, 30, 31])]), True)
        width = rng.choice([2, 4, 8])
        special = {
            2: [b"\x7e\x00", b"\x7c\x00", b"\x00\x00", b"\x80\x00"],
            4: [b"\x7f\xc0\x00\x00", b"\x7f\x80\x00\x00"],
            8: [b"\x7f\xf8\x00\x00\x00\x00\x00\x01", struct.pack(">d", 1.5)],
        }[width]
        payload = rng.choice(special) if rng.random() < 0.5 else rng.randbytes(width)
        return Item(bytes([0xF9, 0xFA, 0xFB][[2, 4, 8].index(width)]) + payload, True)

    def bignum(self, depth: int) -> Item:
        """Tag 2 or 3 over up to 2,000 bytes (some 4,800 decimal digits)."""
        size = self.rng.choice([0, 1, 8, 9, 16, 1800, 2000, self.rng.randrange(2000)])
        return Item(
            head(6, self.rng.choice([2, 3])) + head(2, size) + self.rng.randbytes(size), True
        )

    def array(self, depth: int) -> Item:
        rng = self.rng
        n = rng.choice([0, 1, 2, 3, 5]) if rng.random() < 0.97 else rng.randrange(100, 3000)
        items = [self.item(depth - 1) if n < 50 else self.integer(0) for _ in range(n)]
        w, wide = self.width(n)
        body = b"".join(i.data for i in items)
        return Item(head(4, n, w) + body, wide or any(i.forbidden for i in items))

    def map(self, depth: int) -> Item:
        rng = self.rng
        n = rng.choice([0, 1, 2, 3, 4])
        pairs: list[tuple[bytes, Item]] = []
        bad = False
        for _ in range(n):
            if rng.random() < 0.8:
                key = Item(
                    encode(rng.choice(["a", "b", "to", "from", "amount", "type", "v"])), False
                )
            else:  # a non-text key
                key = self.item(0)
                bad = True
            pairs.append((key.data, self.item(depth - 1)))
            bad = bad or key.forbidden
        if pairs and rng.random() < 0.2:  # a duplicate key
            pairs.append(pairs[0])
        if rng.random() < 0.7:
            pairs.sort(key=lambda p: (len(p[0]), p[0]))
        keys = [k for k, _ in pairs]
        canonical_keys = keys == sorted(keys, key=lambda k: (len(k), k)) and len(set(keys)) == len(
            keys
        )
        bad = bad or not canonical_keys or any(v.forbidden for _, v in pairs)
        w, wide = self.width(len(pairs))
        body = b"".join(k + v.data for k, v in pairs)
        return Item(head(5, len(pairs), w) + body, bad or wide)

    def indefinite(self, depth: int) -> Item:
        rng = self.rng
        major = rng.choice([2, 3, 4, 5])
        parts: list[bytes] = []
        for _ in range(rng.randrange(4)):
            if major == 2:
                parts.append(encode(rng.randbytes(rng.randrange(10))))
            elif major == 3:
                parts.append(encode("ab"))
            elif major == 4:
                parts.append(self.item(depth - 1).data)
            else:
                parts.append(encode("k") + self.item(depth - 1).data)
        end = b"\xff" if rng.random() < 0.9 else b""
        return Item(bytes([major << 5 | 31]) + b"".join(parts) + end, True)

    def tagged(self, depth: int) -> Item:
        rng = self.rng
        tag = rng.choice(INTERESTING_TAGS) if rng.random() < 0.7 else rng.getrandbits(64)
        inner = self.item(depth - 1)
        return Item(head(6, tag, self.width(tag)[0]) + inner.data, True)

    def bomb(self, depth: int) -> Item:
        return Item(shared_ref_bomb(self.rng, self.bomb_depth()), True)

    def bomb_depth(self) -> int:
        rng = self.rng
        if self.deep_bombs and rng.random() < 0.3:
            return rng.randrange(16, 48)
        return rng.randrange(1, 14)

    def deep_nesting(self) -> bytes:
        rng = self.rng
        n = rng.choice([31, 32, 33, 100, 400, 401, 5000, rng.randrange(50_000)])
        opener = rng.choice([b"\x81", b"\xa1\x61a", b"\x9f", b"\xd8\x1c\x81"])
        return opener * n + b"\x00" + (b"\xff" * n if opener == b"\x9f" else b"")

    def wide_input(self) -> bytes:
        """Big inputs for the linear-time check: long arrays, long strings, long maps."""
        rng = self.rng
        n = rng.randrange(1000, 60_000)
        r = rng.random()
        if r < 0.3:
            return head(4, n) + b"\x18\x2a" * n
        if r < 0.5:
            return head(2, n * 4) + rng.randbytes(n * 4)
        if r < 0.7:
            keys = sorted((encode(f"k{i}") for i in range(n)), key=lambda k: (len(k), k))
            return head(5, n) + b"".join(k + b"\xf6" for k in keys)
        if r < 0.85:  # one shared value referenced n times: n references, each an expansion
            return head(4, n + 1) + b"\xd8\x1c" + head(2, 256) + bytes(256) + b"\xd8\x1d\x00" * n
        return head(4, n) + b"\x80" * n

    def raw_input(self) -> bytes:
        """One top-level input that is not a signed tx."""
        rng = self.rng
        r = rng.random()
        if r < 0.35:
            return self.item(rng.randrange(1, 5)).data
        if r < 0.45:
            return shared_ref_bomb(rng, self.bomb_depth())
        if r < 0.55:
            data = self.item(rng.randrange(1, 5)).data
            return data[: rng.randrange(len(data) + 1)]
        if r < 0.62:
            return self.item(3).data + rng.randbytes(rng.randrange(1, 8))
        if r < 0.72:
            return rng.randbytes(rng.randrange(600))
        if r < 0.76:
            return self.deep_nesting()
        if r < 0.78:
            return self.wide_input()
        # a tx-like envelope around a generated body, unsigned
        body = self.item(3).data
        return ENVELOPE_HEAD + rng.randbytes(64) + encode("body") + body


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def shared_ref_bomb(rng: random.Random, depth: int) -> bytes:
    """A value of a few bytes per level that stands for 2^depth leaves once shared references
    (tag 28 marks a value shareable, tag 29 refers back to it) are expanded."""
    style = rng.randrange(3)
    if style == 0:  # [28(x0), 28([29(0), 29(0)]), 28([29(1), 29(1)]), ...]
        parts = [b"\xd8\x1c" + encode("x")]
        for i in range(depth):
            ref = b"\xd8\x1d" + head(0, i)
            parts.append(b"\xd8\x1c\x82" + ref + ref)
        return head(4, len(parts)) + b"".join(parts)
    # nested: v_i = 28([v_(i-1), 29(index of v_(i-1))]); indices count tag 28s in order of
    # appearance, so the outermost value is 0 and v_0 is `depth`
    value = b"\xd8\x1c\x80"
    for i in range(1, depth + 1):
        ref = b"\xd8\x1d" + head(0, depth - i + 1)
        if style == 1:
            value = b"\xd8\x1c\x82" + value + ref
        else:
            value = b"\xd8\x1c\xa2\x61a" + value + b"\x61b" + ref
    return value


def shared_ref_bomb_fixed(depth: int) -> bytes:
    """The nested bomb of the issue's finding 1, deterministic (for the regression test)."""
    value = b"\xd8\x1c\x80"
    for i in range(1, depth + 1):
        value = b"\xd8\x1c\x82" + value + b"\xd8\x1d" + head(0, depth - i + 1)
    return value


# --- txs as trees of encoded items, edited in place -----------------------------------------------


FREE_FORM_MAPS = frozenset({"changes"})  # keys whose map value takes any (text) keys


@dataclass(slots=True)
class Node:
    """A tx under edit: maps and arrays hold children; leaves hold encoded bytes."""

    kind: str  # "map", "array" or "leaf"
    children: list[Any] = field(default_factory=list)  # map: [(key bytes, Node)], array: [Node]
    data: bytes = b""
    forbidden: bool = False  # a leaf the format forbids anywhere
    expected_keys: tuple[bytes, ...] | None = None  # a map's keys as the schema has them
    head_width: int | None = None
    indefinite: bool = False

    @classmethod
    def of(cls, value: Any, schema: bool = True) -> Node:
        """The tree of a value; with `schema`, its maps' keys are the ones the format requires."""
        if isinstance(value, dict):
            # A free-form map (gov/ParamChange's `changes`: any names, checked by the module
            # whose params they are) has no fixed keys, nor has anything below it
            pairs = sorted(
                (
                    (encode(k), cls.of(v, schema and k not in FREE_FORM_MAPS))
                    for k, v in value.items()
                ),
                key=_key_order,
            )
            keys = tuple(k for k, _ in pairs) if schema else None
            return cls("map", pairs, expected_keys=keys)
        if isinstance(value, list):
            return cls("array", [cls.of(v, schema) for v in value])
        return cls("leaf", data=encode(value))

    def to_bytes(self) -> bytes:
        if self.kind == "leaf":
            return self.data
        major = 5 if self.kind == "map" else 4
        if self.kind == "map":
            body = b"".join(k + v.to_bytes() for k, v in self.children)
        else:
            body = b"".join(c.to_bytes() for c in self.children)
        if self.indefinite:
            return bytes([major << 5 | 31]) + body + b"\xff"
        return head(major, len(self.children), self.head_width) + body

    def values(self) -> list[Node]:
        return [c[1] for c in self.children] if self.kind == "map" else list(self.children)

    def containers(self) -> Iterator[Node]:
        if self.kind != "leaf":
            yield self
            for c in self.values():
                yield from c.containers()

    def is_forbidden(self) -> bool:
        """Whether the format forbids this tree wherever it stands: a forbidden leaf, a length
        not in shortest definite form, or a map whose keys are not exactly its schema's (extra,
        missing, duplicate, unsorted or non-text keys)."""
        if self.kind == "leaf":
            return self.forbidden
        if self.indefinite or (
            self.head_width is not None and self.head_width > _shortest_width(len(self.children))
        ):
            return True
        if self.kind == "map":
            keys = [k for k, _ in self.children]
            if self.expected_keys is not None and tuple(keys) != self.expected_keys:
                return True
            if any(k[0] >> 5 != 3 for k in keys) or keys != sorted(set(keys), key=_len_first):
                return True
        return any(c.is_forbidden() for c in self.values())


def _key_order(pair: tuple[bytes, Any]) -> tuple[int, bytes]:
    return len(pair[0]), pair[0]


def _len_first(key: bytes) -> tuple[int, bytes]:
    return len(key), key


class Editor:
    """Random edits of a tx tree (the tree then says whether the format forbids the result)."""

    def __init__(self, gen: CborGen) -> None:
        self.gen = gen
        self.rng = gen.rng

    def edit(self, root: Node) -> None:
        rng = self.rng
        node = rng.choice(list(root.containers()))
        if not node.children:
            node.children.append((encode("x"), Node.of(1)) if node.kind == "map" else Node.of(1))
            return
        i = rng.randrange(len(node.children))
        r = rng.random()
        if r < 0.55:
            if r < 0.45:  # a generated item (finding 2b: a bignum; finding 1: a bomb)
                item = self.gen.item(rng.randrange(0, 3))
                leaf = Node("leaf", data=item.data, forbidden=item.forbidden)
            else:  # a value of another type
                leaf = Node.of(rng.choice(CONFUSED_VALUES), schema=False)
            if node.kind == "map":
                node.children[i] = (node.children[i][0], leaf)
            else:
                node.children[i] = leaf
        elif node.kind == "array":
            if r < 0.75:
                node.children.insert(i, node.children[i])
            elif r < 0.9:
                del node.children[i]
            else:
                node.indefinite = True
        elif r < 0.65:  # a non-text key (finding 2a: {"from", "to", "amount", 7: 0})
            key = self.gen.item(0).data if rng.random() < 0.5 else encode(7)
            node.children.append((key, Node.of(0)))
            node.children.sort(key=_key_order)
        elif r < 0.72:  # an extra text key
            node.children.append((encode("zz"), Node.of(0)))
            node.children.sort(key=_key_order)
        elif r < 0.8:  # a duplicate key
            node.children.insert(i, node.children[i])
        elif r < 0.87:  # a missing key
            del node.children[i]
        elif r < 0.93 and len(node.children) > 1:  # unsorted keys
            j = (i + 1) % len(node.children)
            node.children[i], node.children[j] = node.children[j], node.children[i]
        elif r < 0.97:  # a length in a wider form than needed
            node.head_width = rng.choice([1, 2, 4, 8])
        else:
            node.indefinite = True


CONFUSED_VALUES: list[Any] = [
    0,
    -1,
    U64,
    1 << 63,
    True,
    None,
    "",
    "vox1",
    b"",
    bytes(20),
    bytes(32),
    [],
    {},
    [b"\x00" * 20, 1],
    {"type": "bank/Send", "value": {}},
]


def sign_body(key: PrivateKey, body_bytes: bytes) -> bytes:
    """The tx bytes for a body given as its encoding: the canonical envelope around it."""
    sig = key.sign(SIGN_DOMAIN + body_bytes)
    return ENVELOPE_HEAD + sig + encode("body") + body_bytes


def body_value(
    key: PrivateKey,
    sequence: int,
    msgs: list[dict[str, Any]],
    *,
    gas_limit: int = 200_000,
    fee: int | None = None,
    memo: str = "",
    timeout_height: int = 0,
) -> dict[str, Any]:
    return {
        "chain_id": CHAIN_ID,
        "pub_key": key.public_key.raw,
        "sequence": sequence,
        "fee": AuthParams().min_fee(gas_limit) if fee is None else fee,
        "gas_limit": gas_limit,
        "timeout_height": timeout_height,
        "memo": memo,
        "msgs": msgs,
    }


def chaos_msgs(rng: random.Random, key: PrivateKey, block_time: int) -> list[dict[str, Any]]:
    """A message of any module, mostly well-formed, from `key`."""
    me = key.public_key.address
    validator = rng.choice([*CHAOS_ADDRS[:2], me, rng.randbytes(20)])
    amount = rng.choice([1, 1000, 1_000_000, 50_000_000, U64])
    kind = rng.randrange(26)
    if kind >= 18:
        return payments_msgs(rng, key, kind - 18, block_time)
    if kind >= 11:
        return foundation_msgs(rng, key, kind - 11, block_time)
    if kind == 0:
        to = rng.choice([*CHAOS_ADDRS, rng.randbytes(20), FEE_COLLECTOR_ADDR])
        return [{"type": "bank/Send", "value": {"from": me, "to": to, "amount": amount}}]
    if kind == 1:
        outs = [[rng.choice(CHAOS_ADDRS), rng.randrange(1, 1000)] for _ in range(rng.randrange(4))]
        return [{"type": "bank/MultiSend", "value": {"from": me, "outputs": outs}}]
    if kind == 2:
        identity = hashlib.sha256(b"%d" % rng.randrange(50)).digest()
        expiry = block_time + rng.choice([-10, 10, 3600])
        att = attestation_sign_bytes(CHAIN_ID, me, identity, max(expiry, 0))
        value = {
            "claimant": me,
            "registrar": REGISTRAR.public_key.raw,
            "identity_hash": identity,
            "expiry": max(expiry, 0),
            "signature": REGISTRAR.sign(att) if rng.random() < 0.8 else rng.randbytes(64),
        }
        return [{"type": "grant/Claim", "value": value}]
    if kind == 3:
        value = {
            "operator": me,
            "consensus_pub_key": rng.randbytes(32),
            "self_bond": rng.choice([1_000_000, SELF_BOND, U64]),
            "commission_rate_bps": rng.choice([0, 500, 10_000, 10_001]),
            "max_commission_rate_bps": rng.choice([1000, 10_000]),
            "max_commission_change_bps": rng.choice([0, 100]),
            "moniker": "m" * rng.choice([1, 70, 71]),
            "details": "",
        }
        return [{"type": "staking/CreateValidator", "value": value}]
    if kind == 4:
        value = {
            "operator": me,
            "commission_rate_bps": rng.choice([0, 900, 1000, 1100, 10_001]),
            "moniker": "m",
            "details": "d" * rng.choice([0, 280, 281]),
        }
        return [{"type": "staking/EditValidator", "value": value}]
    if kind in (5, 6):
        t = "staking/Delegate" if kind == 5 else "staking/Undelegate"
        return [{"type": t, "value": {"delegator": me, "validator": validator, "amount": amount}}]
    if kind == 7:
        value = {
            "delegator": me,
            "src_validator": validator,
            "dst_validator": rng.choice(CHAOS_ADDRS[:2]),
            "amount": amount,
        }
        return [{"type": "staking/Redelegate", "value": value}]
    if kind == 8:
        value = {"delegator": me, "validator": validator}
        return [{"type": "distribution/ClaimRewards", "value": value}]
    if kind == 9:
        return [{"type": "distribution/ClaimCommission", "value": {"operator": me}}]
    return [{"type": "slashing/Unjail", "value": {"operator": me}}]


def foundation_msgs(
    rng: random.Random, key: PrivateKey, kind: int, block_time: int
) -> list[dict[str, Any]]:
    """authz, feegrant and directory messages from `key`, mostly well-formed."""
    me = key.public_key.address
    other = rng.choice([*CHAOS_ADDRS, me, rng.randbytes(20)])
    when = rng.choice([0, block_time - 10, block_time + 3600])
    msg_type = rng.choice(["bank/Send", "staking/Delegate", "authz/Exec", "feegrant/Grant", "x"])
    if kind == 0:
        value = {
            "granter": me,
            "grantee": other,
            "msg_type": msg_type,
            "spend_limit": rng.choice([0, 1000, U64]),
            "period_seconds": rng.choice([0, 60]),
            "period_limit": rng.choice([0, 100]),
            "expiration": when,
            "max_uses": rng.choice([0, 1, 3]),
        }
        return [{"type": "authz/Grant", "value": value}]
    if kind == 1:
        value = {"granter": me, "grantee": other, "msg_type": msg_type}
        return [{"type": "authz/Revoke", "value": value}]
    if kind == 2:
        # Inner messages signed, as it were, by another chaos account that may have granted `me`
        granter = rng.choice(CHAOS_ADDRS)
        send = {"from": granter, "to": me, "amount": rng.choice([1, 500, U64])}
        inner = [{"type": "bank/Send", "value": send} for _ in range(rng.randrange(1, 3))]
        if rng.random() < 0.2:
            inner.append({"type": "authz/Exec", "value": {"grantee": me, "msgs": []}})
        return [{"type": "authz/Exec", "value": {"grantee": me, "msgs": inner}}]
    if kind == 3:
        value = {
            "granter": me,
            "grantee": other,
            "spend_limit": rng.choice([0, 10_000, U64]),
            "period_seconds": rng.choice([0, 60]),
            "period_limit": rng.choice([0, 500]),
            "expiration": when,
            "allowed_msgs": rng.choice([[], ["bank/Send"], [msg_type, msg_type]]),
        }
        return [{"type": "feegrant/Grant", "value": value}]
    if kind == 4:
        return [{"type": "feegrant/Revoke", "value": {"granter": me, "grantee": other}}]
    version = rng.choice([0, 1, 2, 3, U64])
    if kind == 5:
        keys = _encryption_keys(key.seed, rng.randrange(3))
        x25519 = keys.x25519_public if rng.random() < 0.8 else rng.choice(LOW_ORDER_X25519)
        secp = keys.secp256k1_public if rng.random() < 0.8 else rng.randbytes(33)
        value = {"owner": me, "version": version, "x25519": x25519, "secp256k1": secp}
        return [{"type": "directory/Publish", "value": value}]
    return [{"type": "directory/Revoke", "value": {"owner": me, "version": version}}]


def _chaos_channel(rng: random.Random) -> bytes:
    """The id of one of the first channels a chaos account opened (so claims and top-ups often
    find a channel), or of none."""
    if rng.random() < 0.2:
        return rng.randbytes(32)
    return derive_channel_id(CHAIN_ID, rng.choice(CHAOS_ADDRS), rng.randrange(3))


def _chaos_voucher(rng: random.Random, channel_id: bytes) -> tuple[bytes, int, bytes]:
    """A voucher on `channel_id`, signed by a chaos key (often the payer's: chaos channels name
    their payer's key as voucher key), for an amount that may be stale, fresh or over deposit."""
    amount = rng.choice([0, 1, 500, 10_000, 1_000_000, U64])
    signer = rng.choice(CHAOS_KEYS)
    voucher = sign_voucher(SigningKey(signer.seed), CHAIN_ID, channel_id, amount)
    signature = voucher.signature if rng.random() < 0.9 else rng.randbytes(64)
    return (channel_id, amount, signature)


SKILL_IDS = ["skill-weather.openvoiceos", "skill-jokes.fuzz", "Bad Id", "x" * 141]


def payments_msgs(
    rng: random.Random, key: PrivateKey, kind: int, block_time: int
) -> list[dict[str, Any]]:
    """services, channels, skills and gov messages from `key`, mostly well-formed."""
    me = key.public_key.address
    other = rng.choice([*CHAOS_ADDRS, me, rng.randbytes(20)])
    amount = rng.choice([1, 1000, 1_000_000, 1_000_000_000, U64])
    if kind == 0:
        verb = rng.choice(["Register", "Update", "Leave"])
        value: dict[str, Any] = {"provider": me, "kind": rng.choice(["stt", "echo", "nope", ""])}
        if verb != "Leave":
            value |= {
                "endpoint": rng.choice(["http://127.0.0.1:9000", "ftp://x", "http://" + "a" * 300]),
                "price": rng.choice([1, 10, U64]),
                "languages": rng.choice([[], ["en-us"], ["en-us", "en-us"], ["x" * 20]]),
                "signing_key": key.public_key.raw if rng.random() < 0.8 else rng.randbytes(32),
            }
            value["stake" if verb == "Register" else "add_stake"] = rng.choice(
                [0, 1_000_000, 1_000_000_000, U64]
            )
        return [{"type": f"services/{verb}", "value": value}]
    if kind == 1:
        value = {"payer": me, "payee": other, "voucher_key": key.public_key.raw, "deposit": amount}
        return [{"type": "channels/Open", "value": value}]
    if kind == 2:
        verb = rng.choice(["TopUp", "Settle", "Collect"])
        value = {"payer": me, "channel_id": _chaos_channel(rng)}
        if verb == "TopUp":
            value["amount"] = amount
        return [{"type": f"channels/{verb}", "value": value}]
    if kind == 3:
        vouchers = [_chaos_voucher(rng, _chaos_channel(rng)) for _ in range(rng.randrange(1, 4))]
        if rng.random() < 0.5:
            return [{"type": "channels/Claim", "value": {"payee": me, "vouchers": vouchers}}]
        return [{"type": "channels/Close", "value": {"payee": me, "channel_id": vouchers[0][0]}}]
    if kind == 4:
        verb = rng.choice(["Register", "Update", "Transfer", "Retire"])
        value = {"creator": me, "skill_id": rng.choice(SKILL_IDS)}
        if verb in ("Register", "Update"):
            value |= {"payout": other, "fee_per_use": rng.choice([1, 100, U64])}
        if verb == "Transfer":
            value |= {"new_creator": other, "payout": other}
        return [{"type": f"skills/{verb}", "value": value}]
    if kind == 5:
        uses = [[rng.choice(SKILL_IDS), rng.choice([1, 3, U64])] for _ in range(rng.randrange(4))]
        return [{"type": "skills/Settle", "value": {"payer": me, "uses": uses}}]
    if kind == 6:
        action = rng.choice(
            [
                {"type": "gov/CommunitySpend", "value": {"recipient": other, "amount": amount}},
                {"type": "gov/ParamChange", "value": {"module": "bank", "changes": {}}},
                {"type": "gov/Nope", "value": {}},
            ]
        )
        value = {
            "proposer": me,
            "title": "t" * rng.choice([1, 140, 141]),
            "summary": "",
            "actions": rng.choice([[], [action]]),
            "deposit": rng.choice([0, 1_000_000, 10**9, U64]),
        }
        return [{"type": "gov/SubmitProposal", "value": value}]
    proposal = rng.choice([1, 2, 3, U64])
    if rng.random() < 0.5:
        value = {"voter": me, "proposal_id": proposal, "option": rng.choice([0, 1, 3, 4, 5])}
        return [{"type": "gov/Vote", "value": value}]
    split = rng.choice([[[1, 500_000], [3, 500_000]], [[1, 1]], [[1, 10**6], [1, 0]]])
    return [
        {
            "type": "gov/WeightedVote",
            "value": {"voter": me, "proposal_id": proposal, "options": split},
        }
    ]


@functools.lru_cache(maxsize=64)
def _encryption_keys(seed: bytes, generation: int) -> EncryptionKeys:
    return derive_encryption_keys(seed, generation)


# Small-order X25519 points (RFC 7748 section 6.1's examples of what must be refused)
LOW_ORDER_X25519 = [
    bytes(32),
    (1).to_bytes(32, "little"),
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
]


# --- messages of every routed type, from their declarations ---------------------------------------
#
# Each routed message is a frozen dataclass whose fields are declared with Kinds (chain/fields.py).
# `DeclaredMsgs` makes a message of any routed type field by field from those Kinds: mostly values
# valid for the kind (addresses of chaos, validator and module accounts, amounts in range and at
# its edges, bytes of the declared length, texts within and at their limits), sometimes just
# outside it. Where a field only means something in state (an id), it takes the ids that committed
# chaos txs announced in their events, by the event attribute named like the field. A module added
# later is covered by its declaration; a kind of its own that no hint knows gets the candidate
# values below that its `parse` accepts (test_fuzz_campaign names a type none of them parses).

ROUTES: dict[str, MsgRoute] = {
    t: r for m in default_modules() for t, r in sorted(m.msg_routes().items())
}
MODULE_ADDRS = [
    module_address(v)
    for k, v in sorted(vars(module_accounts).items())
    if k.isupper() and isinstance(v, str)
]
DECLARED_SHARE = 0.5  # of chaos inputs, made from the declarations
ID_POOL = [hashlib.sha256(b"voxpop-fuzz/id/%d" % i).digest() for i in range(4)]
PREIMAGES = [hashlib.sha256(b"voxpop-fuzz/preimage/%d" % i).digest() for i in range(4)]
# Text fields whose values are words of a set
TEXT_HINTS = {
    "purpose": [*DEFAULT_PURPOSES, "nope"],
    "side": ["sell", "buy"],
    "other_address": ["bc1qfuzz", "0xf00d", ""],
    "asset": ["BTC", "ETH"],
    "asset_amount": ["1", "1000", "0.5"],
}
# Fields whose integers are unix times: near the block's time
TIME_FIELDS = ("expir", "expires", "timeout", "deadline")
OUTSIDE = 0.03  # the share of fields made just outside their kind
# Any value a kind of a new module might take (each kind keeps those its parse accepts)
CANDIDATES: list[Any] = [
    "a",
    "en",
    "stt",
    "skill-weather.openvoiceos",
    "http://127.0.0.1:9000",
    "bank/Send",
    "yes",
    "buy",
    "",
    0,
    1,
    2,
    1000,
    U64,
    b"",
    b"{}",
    bytes(20),
    bytes(32),
    [],
    {},
    True,
]


def _wasm_codes() -> list[bytes]:
    from tests.chain.wasm_wat import TOKEN, contract, wasm

    return [wasm(TOKEN), wasm(contract())]


WASM_CODES = _wasm_codes()


class DeclaredMsgs:
    """Messages of every routed type, made from their declarations (see above)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.types = sorted(ROUTES)
        # Ids, numbers and addresses that committed txs announced, by event attribute
        self.seen: dict[str, list[Any]] = {}
        self.accepted: dict[Kind, list[Any]] = {}

    def harvest(self, events: Sequence[Event]) -> None:
        """Keep what a committed chaos tx's events name (`offer_id=<hex>`, `proposal_id=7`, ...),
        but never an account the model tracks (chaos must not pay or touch those)."""
        for event in events:
            for attr in event.attributes:
                value = _attr_value(attr.value)
                if value is None or value in MODEL_ADDRS:
                    continue
                known = self.seen.setdefault(attr.key, [])
                if value not in known:
                    known.append(value)
                    del known[:-32]

    def clear(self) -> None:
        self.seen.clear()

    def signer_key(self, msg_type: str) -> PrivateKey:
        """A chaos key to sign `msg_type`: most often one that events named in the signer's role
        (a storage/AddCollateral's provider is then one that registered)."""
        cls = ROUTES[msg_type].msg_cls
        role = next(f.key for f in msg_fields(cls) if f.attr == cls.SIGNER)
        named = self.seen.get(role, [])
        known = [k for k in CHAOS_KEYS if k.public_key.address in named]
        if known and self.rng.random() < 0.7:
            return self.rng.choice(known)
        return self.rng.choice(CHAOS_KEYS)

    def msg(self, me: bytes, block_time: int, depth: int = 0) -> dict[str, Any]:
        msg_type = self.rng.choice(self.types)
        return self.of_type(msg_type, me, block_time, depth)

    def of_type(self, msg_type: str, me: bytes, block_time: int, depth: int = 0) -> dict[str, Any]:
        cls = ROUTES[msg_type].msg_cls
        value = self.fields(cls, me, block_time, depth)
        hint = MSG_HINTS.get(msg_type)
        if hint is not None:
            hint(self, value, me, block_time)
        return {"type": msg_type, "value": value}

    def fields(self, cls: type[Msg], me: bytes, block_time: int, depth: int) -> dict[str, Any]:
        value = {}
        for f in msg_fields(cls):
            if f.attr == cls.SIGNER and self.rng.random() > OUTSIDE:
                value[f.key] = me
            else:
                value[f.key] = self.value(f.kind, f.key, me, block_time, depth)
        return value

    def value(self, kind: Kind, key: str, me: bytes, block_time: int, depth: int) -> Any:
        """A value for a field `key` of `kind`: mostly valid for the kind, sometimes not."""
        rng = self.rng
        make = KIND_HINTS.get(type(kind))
        if make is not None:
            return make(self, kind, key, me, block_time, depth)
        outside = rng.random() < OUTSIDE
        seen = self.seen.get(key, [])
        if isinstance(kind, AddressKind):
            if outside:
                return rng.randbytes(rng.choice([0, 19, 21]))
            named = [x for x in seen if isinstance(x, bytes) and len(x) == 20]
            if named and rng.random() < 0.7:
                return rng.choice(named)
            return rng.choice([*CHAOS_ADDRS, me, *MODULE_ADDRS[:2], rng.randbytes(20)])
        if isinstance(kind, UintKind):
            return self.make_uint(kind, key, seen, block_time, outside)
        if isinstance(kind, BytesKind):
            return self.make_bytes(kind, key, seen, outside)
        if isinstance(kind, TextKind):
            return self.make_text(kind.max_bytes, key, outside)
        if isinstance(kind, ListKind):
            return self.make_list(kind, key, me, block_time, depth, outside)
        if isinstance(kind, TupleKind):
            return [
                self.value(k, name, me, block_time, depth)
                for k, name in zip(kind.items, kind.names, strict=True)
            ]
        if isinstance(kind, MsgTypeKind):
            return rng.choice([*self.types, "x/Nope", "bad"] if outside else self.types)
        if isinstance(kind, MsgsKind):
            # Inner messages of another chaos account, which may have granted `me`
            granter = rng.choice(CHAOS_ADDRS)
            n = rng.randrange(1, 3) if depth < 1 else 1
            return [self.msg(granter, block_time, depth + 1) for _ in range(n)]
        if isinstance(kind, X25519KeyKind):
            if outside:
                return rng.choice(LOW_ORDER_X25519)
            return _encryption_keys(rng.choice(CHAOS_KEYS).seed, rng.randrange(3)).x25519_public
        if isinstance(kind, Secp256k1KeyKind):
            if outside:
                return rng.randbytes(33)
            keys = _encryption_keys(rng.choice(CHAOS_KEYS).seed, rng.randrange(3))
            return keys.secp256k1_public
        return self.candidate(kind, key)

    def make_uint(
        self, kind: UintKind, key: str, seen: list[Any], block_time: int, outside: bool
    ) -> int:
        rng = self.rng
        lo, hi = kind.minimum, kind.maximum
        if outside:  # (a bignum above 2^64-1 would not decode: the tx would end there)
            return rng.choice([lo - 1, hi + 1] if hi < U64 else [lo - 1])
        ints = [x for x in seen if type(x) is int and lo <= x <= hi]
        if ints and rng.random() < 0.8:
            return rng.choice(ints)
        if any(t in key for t in TIME_FIELDS) and rng.random() < 0.8:
            return min(hi, max(lo, block_time + rng.choice([-10, 0, 60, 3600, 86_400 * 30])))
        small = min(hi, lo + rng.choice([0, 1, 2, 3, 1000, 10**6, 10**9]))
        return rng.choice([lo, hi, small, small, small, rng.randint(lo, hi)])

    def make_bytes(self, kind: BytesKind, key: str, seen: list[Any], outside: bool) -> bytes:
        rng = self.rng
        if kind.length is not None:
            n = kind.length
            if outside:
                return rng.randbytes(n + rng.choice([-1, 1]))
            if key == "hashlock":
                return hashlib.sha256(rng.choice(PREIMAGES)).digest()
            if key == "preimage":
                return rng.choice(PREIMAGES)
            ids = [x for x in seen if isinstance(x, bytes) and len(x) == n]
            if n == 32 and rng.random() < 0.8:
                return rng.choice([*ids, *ids, *ID_POOL])
            return self.envelope(rng.randbytes(n))
        most = kind.max_length or 0
        if outside:
            return rng.randbytes(most + 1) if most <= 1 << 16 else b""
        n = rng.choice(
            [0, 1, 32, rng.randrange(min(most, 512) + 1), most if most <= 1 << 14 else 64]
        )
        return self.envelope(rng.randbytes(min(n, most)))

    def envelope(self, data: bytes) -> bytes:
        """Random bytes, half the time with the format byte (1) most envelopes begin with."""
        return b"\x01" + data[1:] if data and self.rng.random() < 0.5 else data

    def make_text(self, max_bytes: int, key: str, outside: bool) -> str:
        rng = self.rng
        words = TEXT_HINTS.get(key)
        if words is not None and rng.random() < 0.9:
            return rng.choice(words)
        if outside:
            return "x" * (max_bytes + 1)
        n = rng.choice([0, 1, rng.randrange(max_bytes + 1), max_bytes])
        if rng.random() < 0.2 and n >= 2:
            return "é" * (n // 2)  # two bytes each
        return "".join(rng.choice("abcxyz-._/ 09") for _ in range(n))

    def make_list(
        self, kind: ListKind, key: str, me: bytes, block_time: int, depth: int, outside: bool
    ) -> list[Any]:
        rng = self.rng
        lo, hi = kind.min_items, kind.max_items
        if outside:
            n = rng.choice([lo - 1, hi + 1] if lo > 0 else [hi + 1])
            if n > 512:
                n = lo  # an item outside instead, below: not a huge list
        else:
            n = rng.choice([lo, lo, min(hi, lo + 1), min(hi, lo + rng.randrange(4)), min(hi, 64)])
        item_key = key[:-1] if key.endswith("s") else key
        out = [self.value(kind.item, item_key, me, block_time, depth) for _ in range(max(n, 0))]
        if outside and n == lo and out:
            out[0] = None
        return out

    def candidate(self, kind: Kind, key: str) -> Any:
        """A value of a kind no hint knows: one of the candidates its parse accepts."""
        accepted = self.accepted.get(kind)
        if accepted is None:
            accepted = [c for c in CANDIDATES if _parses(kind, c, key)]
            self.accepted[kind] = accepted
        if accepted and self.rng.random() > OUTSIDE:
            return self.rng.choice(accepted)
        return self.rng.choice(CANDIDATES)


def _parses(kind: Kind, value: Any, key: str) -> bool:
    try:
        kind.parse(value, key)
    except ChainError:
        return False
    return True


def _attr_value(text: str) -> Any:
    """An event attribute's value as a field holds it: 32 hex bytes, a number, an address."""
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            return None
    if text.isdigit() and len(text) <= 20:
        return int(text)
    if text.startswith("vox1"):
        try:
            return decode_address(text)
        except AddressError:
            return None
    return None


# --- hints: kinds of one module, and fields that mean something only together ---------------------

KindHint = Callable[[DeclaredMsgs, Any, str, bytes, int, int], Any]


def _pick(*values: Any) -> KindHint:
    return lambda g, kind, key, me, t, depth: g.rng.choice(values)


def _actions(g: DeclaredMsgs, kind: Any, key: str, me: bytes, t: int, depth: int) -> list[Any]:
    """A proposal's actions, each made from its declaration."""
    out = []
    for _ in range(g.rng.choice([0, 1, 1, 2])):
        cls = g.rng.choice(sorted(ACTIONS.values(), key=lambda c: c.TYPE))
        value = g.fields(cls, me, t, depth)
        hint = MSG_HINTS.get(cls.TYPE)
        if hint is not None:
            hint(g, value, me, t)
        out.append({"type": cls.TYPE, "value": value})
    return out


KIND_HINTS: dict[type[Kind], KindHint] = {
    SkillIdKind: _pick(*SKILL_IDS, "skill-timer.openvoiceos"),
    ServiceKindKind: _pick("stt", "tts", "echo", "nope", ""),
    EndpointKind: _pick(
        "http://127.0.0.1:9000",
        "https://x.example",
        "https://x.example:8443/v1",
        "ftp://x",
        "http:",
    ),
    LanguageKind: _pick("en-us", "eu", "de", "EN"),
    Ed25519KeyKind: lambda g, kind, key, me, t, depth: g.rng.choice(
        [k.public_key.raw for k in CHAOS_KEYS] + [bytes(32)]
    ),
    ContractMsgKind: _pick(b"{}", b'"x"', b"[1,2]", b"{", b"null"),
    OptionalAddressKind: lambda g, kind, key, me, t, depth: g.rng.choice(
        [b"", me, *CHAOS_ADDRS[:2]]
    ),
    ActionsKind: _actions,
}

MsgHint = Callable[[DeclaredMsgs, dict[str, Any], bytes, int], None]


def _claim_hint(g: DeclaredMsgs, value: dict[str, Any], me: bytes, t: int) -> None:
    """A registrar's attestation over the claim (the registrar of the fuzz genesis)."""
    value["registrar"] = REGISTRAR.public_key.raw
    att = attestation_sign_bytes(CHAIN_ID, me, value["identity_hash"], value["expiry"])
    if g.rng.random() < 0.8:
        value["signature"] = REGISTRAR.sign(att)


def _param_change_hint(g: DeclaredMsgs, value: dict[str, Any], me: bytes, t: int) -> None:
    """A change of one parameter of a module that has some, to a value of its type or not."""
    spec = g.rng.choice(PARAMS)
    name, current = g.rng.choice(sorted(spec[1].items()))
    new: Any = current
    if type(current) is int:
        new = g.rng.choice([0, 1, current, current + 1, max(current - 1, 0), U64])
    elif type(current) is bool:
        new = not current
    elif g.rng.random() < 0.3:
        new = 1
    value["module"], value["changes"] = spec[0], {name: new}


def _voucher_hint(g: DeclaredMsgs, value: dict[str, Any], me: bytes, t: int) -> None:
    """Vouchers signed by a chaos key, on channels chaos accounts opened."""
    value["vouchers"] = [
        list(
            _chaos_voucher(
                g.rng, g.rng.choice([*g.seen.get("channel_id", []), _chaos_channel(g.rng)])
            )
        )
        for _ in range(len(value["vouchers"]) or 1)
    ]


def _store_code_hint(g: DeclaredMsgs, value: dict[str, Any], me: bytes, t: int) -> None:
    if g.rng.random() < 0.5:
        value["wasm_byte_code"] = g.rng.choice(WASM_CODES)


def _open_deal_hint(g: DeclaredMsgs, value: dict[str, Any], me: bytes, t: int) -> None:
    """k of n shards with one root and one (registered, mostly) provider each, in leaves of the
    chain's size."""
    n = g.rng.choice([2, 3, 4])
    value["n"], value["k"] = n, g.rng.randrange(1, n)
    value["roots"] = [g.rng.randbytes(32) for _ in range(n)]
    registered = [a for a in g.seen.get("provider", []) if isinstance(a, bytes)]
    providers = registered if len(registered) >= n and g.rng.random() < 0.7 else CHAOS_ADDRS
    value["providers"] = g.rng.sample(providers, n)
    value["leaf_size"] = dict(PARAMS)["storage"]["leaf_size"]
    value["size"] = g.rng.choice([1, 1000, 1 << 20])
    value["shard_size"] = -(-value["size"] // value["k"])


def _weighted_vote_hint(g: DeclaredMsgs, value: dict[str, Any], me: bytes, t: int) -> None:
    """Weights that sum to one (10^6), over distinct options, mostly."""
    if g.rng.random() < 0.7:
        split = g.rng.choice([[10**6], [500_000, 500_000], [1, 999_999], [10**6, 0]])
        options = g.rng.sample([1, 2, 3, 4], len(split))
        value["options"] = [[o, w] for o, w in zip(options, split, strict=True)]


def _consent_grant_hint(g: DeclaredMsgs, value: dict[str, Any], me: bytes, t: int) -> None:
    """Objects listed or committed by root, and a threshold its nodes can meet."""
    if value["objects"]:
        value["objects_root"], value["object_count"] = b"", len(value["objects"])
    else:
        value["objects_root"] = g.rng.choice(ID_POOL)
        value["object_count"] = g.rng.choice([1, 3, 4096])
    value["threshold"] = g.rng.randint(1, max(len(value["nodes"]), 1))
    value["offer_id"] = g.rng.choice([b"", *g.seen.get("offer_id", []), *ID_POOL])


def _market_post_hint(g: DeclaredMsgs, value: dict[str, Any], me: bytes, t: int) -> None:
    """Terms of the shapes the chain lists, and a budget that pays every object."""
    value["kind"], value["language"] = g.rng.choice(["stt", "tts"]), g.rng.choice(["en", "eu"])
    value["purpose"] = g.rng.choice(["research", "asr-training"])
    value["min_seconds"] = min(value["min_seconds"], value["max_seconds"])
    price = value["price"] = g.rng.choice([1, 1000, 10**6])
    value["max_objects"] = g.rng.choice([1, 10, 4096])
    value["budget"] = price * value["max_objects"]


def _settings_rotate_hint(g: DeclaredMsgs, value: dict[str, Any], me: bytes, t: int) -> None:
    """The owner among the recipients, once."""
    if value["wraps"] and isinstance(value["wraps"][0], list):
        value["wraps"][0][0] = me


def _htlc_offer_hint(g: DeclaredMsgs, value: dict[str, Any], me: bytes, t: int) -> None:
    """The offerer's lock lasting longer than the taker's, mostly."""
    longer, shorter = sorted((value["offerer_seconds"], value["taker_seconds"]), reverse=True)
    if g.rng.random() < 0.8 and longer > shorter:
        value["offerer_seconds"], value["taker_seconds"] = longer, shorter


def _withdraw_bond_hint(g: DeclaredMsgs, value: dict[str, Any], me: bytes, t: int) -> None:
    """Mostly the signer's own registrar key (a withdrawal names the key whose address signs)."""
    own = [k for k in CHAOS_KEYS if k.public_key.address == me]
    if own and g.rng.random() < 0.8:
        value["account"] = me
        value["registrar"] = own[0].public_key.raw


MSG_HINTS: dict[str, MsgHint] = {
    "htlc/Offer": _htlc_offer_hint,
    "gov/WeightedVote": _weighted_vote_hint,
    "consent/Grant": _consent_grant_hint,
    "market/Post": _market_post_hint,
    "settings/Rotate": _settings_rotate_hint,
    "grant/Claim": _claim_hint,
    "grant/WithdrawBond": _withdraw_bond_hint,
    "gov/ParamChange": _param_change_hint,
    "channels/Claim": _voucher_hint,
    "wasm/StoreCode": _store_code_hint,
    "storage/OpenDeal": _open_deal_hint,
}

# (module, its parameters at their defaults) for every module that has parameters
PARAMS: list[tuple[str, dict[str, Any]]] = [
    (m.name, p)
    for m in default_modules()
    if (spec := m.params_spec()) is not None and (p := asdict(spec.default()))
]


# --- the reference model of bank txs ------------------------------------------------------------

# Gas the ante handler spends on state (account read, fee transfer, account write) and one transfer
# spends, with room to spare: a gas limit between the size-and-signature cost and that cost plus
# these margins could run out in either place, so the model does not judge it.
ANTE_STATE_GAS_MARGIN = 6_000
TRANSFER_GAS_MARGIN = 3_000
MULTISEND_MAX_OUTPUTS = 100  # bank params' default


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: str  # "reject" (nothing changes), "fail" (fee and sequence only), "ok", "unjudged"
    reason: str = ""
    signer: bytes = b""
    fee: int = 0
    transfers: tuple[tuple[bytes, int], ...] = ()


@dataclass
class BankModel:
    """Balances and sequences of MODEL_KEYS' accounts."""

    balances: dict[bytes, int]
    sequences: dict[bytes, int]

    def copy(self) -> BankModel:
        return BankModel(dict(self.balances), dict(self.sequences))

    def apply(self, v: Verdict, *, in_block: bool) -> None:
        if v.outcome == "ok" or (v.outcome == "fail" and in_block):
            self.balances[v.signer] -= v.fee
            self.sequences[v.signer] += 1
        if v.outcome == "ok":
            for to, amount in v.transfers:
                self.balances[v.signer] -= amount
                if to in self.balances:
                    self.balances[to] += amount


def _is_uint(x: Any) -> bool:
    return type(x) is int and 0 <= x <= U64


def _is_amount(x: Any) -> bool:
    return type(x) is int and 0 < x <= U64


def _is_addr(x: Any) -> bool:
    return isinstance(x, bytes) and len(x) == 20


def judge(
    doc: Any, size: int, sig_ok: bool, model: BankModel, height: int, params: AuthParams
) -> Verdict:
    """What the rules say of a bank tx `doc` (the value that was encoded) of `size` bytes, whose
    signature verifies iff `sig_ok`, in a block (or check) at `height` over `model`'s state."""

    def reject(reason: str) -> Verdict:
        return Verdict("reject", reason)

    # Format (docs/protocol/transactions.md)
    if size > params.max_tx_bytes:
        return reject("size")
    if not isinstance(doc, dict) or set(doc) != {"v", "body", "sig"}:
        return reject("envelope")
    if type(doc["v"]) is not int or doc["v"] != 1:
        return reject("version")
    if not isinstance(doc["sig"], bytes) or len(doc["sig"]) != 64:
        return reject("sig shape")
    body = doc["body"]
    if not isinstance(body, dict) or set(body) != set(body_value(MODEL_KEYS[0], 0, [])):
        return reject("body keys")
    chain_id, pub_key, memo, msgs = body["chain_id"], body["pub_key"], body["memo"], body["msgs"]
    if not isinstance(chain_id, str) or not 0 < len(chain_id) <= 64:
        return reject("chain_id shape")
    if not isinstance(pub_key, bytes) or len(pub_key) != 32:
        return reject("pub_key shape")
    if not isinstance(memo, str) or len(memo.encode()) > 1024:
        return reject("memo shape")
    if not isinstance(msgs, list) or not 0 < len(msgs) <= 256:
        return reject("msgs shape")
    if not all(_is_uint(body[k]) for k in ("sequence", "fee", "gas_limit", "timeout_height")):
        return reject("uint")
    # Messages: only bank's two, each exactly its fields
    transfers: list[list[tuple[bytes, int]]] = []
    senders = []
    for m in msgs:
        if not isinstance(m, dict) or set(m) != {"type", "value"}:
            return reject("msg shape")
        value = m["value"]
        if not isinstance(m["type"], str) or not isinstance(value, dict):
            return reject("msg types")
        if m["type"] == "bank/Send":
            if set(value) != {"from", "to", "amount"}:
                return reject("send fields")
            if not (_is_addr(value["from"]) and _is_addr(value["to"])):
                return reject("address")
            if not _is_amount(value["amount"]):
                return reject("amount")
            transfers.append([(value["to"], value["amount"])])
        elif m["type"] == "bank/MultiSend":
            outputs = value.get("outputs")
            if set(value) != {"from", "outputs"} or not isinstance(outputs, list) or not outputs:
                return reject("multisend fields")
            pairs = []
            for out in outputs:
                if not isinstance(out, list) or len(out) != 2:
                    return reject("output shape")
                if not _is_addr(out[0]):
                    return reject("address")
                if not _is_amount(out[1]):
                    return reject("amount")
                pairs.append((out[0], out[1]))
            if not _is_addr(value["from"]):
                return reject("address")
            transfers.append(pairs)
        else:
            return reject("type")  # unknown, or another module's message with bank's fields
        senders.append(value["from"])
    signer = address_from_pubkey(pub_key)
    if any(s != signer for s in senders):
        return reject("signer")
    # Ante
    gas_limit, fee = body["gas_limit"], body["fee"]
    size_gas = params.gas.tx_base + params.gas.tx_byte * size + params.gas.sig_verify
    if chain_id != CHAIN_ID:
        return reject("chain_id")
    if body["timeout_height"] and height > body["timeout_height"]:
        return reject("timeout")
    if len(msgs) > params.max_msgs:
        return reject("max_msgs")
    if len(memo.encode()) > params.max_memo_bytes:
        return reject("memo")
    if gas_limit > params.max_gas_per_tx:
        return reject("gas limit")
    if fee < params.min_fee(gas_limit):
        return reject("fee")
    if gas_limit < size_gas:
        return reject("out of gas: size")
    if not sig_ok:
        return reject("signature")
    if signer not in model.sequences or body["sequence"] != model.sequences[signer]:
        return reject("sequence")
    if fee > model.balances[signer]:
        return reject("fee funds")
    if gas_limit < size_gas + ANTE_STATE_GAS_MARGIN:
        return Verdict("unjudged", "gas: ante or message")
    # Messages run: the fee is charged whatever happens now
    spare = gas_limit - size_gas - ANTE_STATE_GAS_MARGIN
    balance = model.balances[signer] - fee
    flat: list[tuple[bytes, int]] = []
    fail = ""
    for pairs in transfers:
        if len(pairs) > MULTISEND_MAX_OUTPUTS:
            fail = "outputs"
            break
        # A message's outputs are paid only if the sender holds their total first (paying
        # itself funds nothing after it)
        if sum(amount for _, amount in pairs) > balance:
            fail = "funds"
            break
        for to, amount in pairs:
            if to in BLOCKED_RECIPIENTS:
                fail = "blocked"
            elif amount > balance:
                fail = "funds"
            if fail:
                break
            balance -= amount if to != signer else 0
            spare -= TRANSFER_GAS_MARGIN
            flat.append((to, amount))
        if fail:
            break
    if fail:
        return Verdict("fail", fail, signer, fee)
    if spare < 0:
        return Verdict("unjudged", "gas: messages")
    return Verdict("ok", "", signer, fee, tuple(flat))


# --- inputs -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Input:
    kind: str  # raw, shaped, tampered, judged, chaos
    data: bytes
    must_reject: bool = False
    doc: Any = None  # judged: the value that was encoded
    sig_ok: bool = False
    signer: bytes = b""
    msg_type: str = ""  # chaos: the type of its (first) message


class TxFactory:
    """Makes every kind of input against the model's view of the chain."""

    def __init__(self, rng: random.Random, gen: CborGen) -> None:
        self.rng = rng
        self.gen = gen
        self.editor = Editor(gen)
        self.committed: list[Input] = []  # judged txs a block accepted, for replays
        self.chaos_sequences: dict[bytes, int] = {}
        self.declared = DeclaredMsgs(rng)

    # -- bank txs the model judges ------------------------------------------------------------

    def recipient(self) -> bytes:
        rng = self.rng
        r = rng.random()
        if r < 0.7:
            return rng.choice(MODEL_ADDRS)
        if r < 0.8:
            return rng.randbytes(20)
        if r < 0.9:
            return FEE_COLLECTOR_ADDR
        return rng.choice(sorted(BLOCKED_RECIPIENTS))

    def amount(self, balance: int) -> int:
        rng = self.rng
        r = rng.random()
        if r < 0.85:
            return rng.randrange(1, 1_000_000)
        return max(1, rng.choice([balance, balance + 1, balance - 200, balance // 2]))

    def bank_body(self, key: PrivateKey, model: BankModel) -> dict[str, Any]:
        rng = self.rng
        me = key.public_key.address
        balance = model.balances[me]
        msgs: list[dict[str, Any]] = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            if rng.random() < 0.7:
                value = {"from": me, "to": self.recipient(), "amount": self.amount(balance)}
                msgs.append({"type": "bank/Send", "value": value})
            else:
                n = rng.choice([1, 2, 4, 100, 101]) if rng.random() < 0.1 else rng.randrange(1, 5)
                outs = [[self.recipient(), self.amount(balance // 4)] for _ in range(n)]
                msgs.append({"type": "bank/MultiSend", "value": {"from": me, "outputs": outs}})
        gas = rng.choice([100_000, 200_000, 200_000, 500_000])
        if any(len(m["value"].get("outputs", ())) > 50 for m in msgs):
            gas = 1_000_000
        return body_value(
            key,
            model.sequences[me],
            msgs,
            gas_limit=gas,
            fee=AuthParams().min_fee(gas) + rng.choice([0, 0, 1, 1000]),
            memo=rng.choice(["", "hi", "é" * 128]),
            timeout_height=rng.choice([0, 0, 0, U64]),
        )

    def judged(self, model: BankModel, height: int) -> Input:
        rng = self.rng
        key = rng.choice(MODEL_KEYS)
        if self.committed and rng.random() < 0.03:  # a replay of a tx already in a block
            old = rng.choice(self.committed)
            return Input("judged", old.data, doc=old.doc, sig_ok=True, signer=old.signer)
        body = self.bank_body(key, model)
        if rng.random() < 0.65:
            self.mutate_body(body, model, height)
        body_bytes = encode(body)
        sig = key.sign(SIGN_DOMAIN + body_bytes)
        doc: dict[str, Any] = {"v": 1, "body": body, "sig": sig}
        if rng.random() < 0.04:
            self.mutate_envelope(doc)
            data = encode(doc)
        else:
            data = ENVELOPE_HEAD + sig + encode("body") + body_bytes
        sig_ok = body.get("pub_key") == key.public_key.raw and doc.get("sig") == sig
        return Input("judged", data, doc=doc, sig_ok=sig_ok, signer=key.public_key.address)

    def mutate_envelope(self, doc: dict[str, Any]) -> None:
        rng = self.rng
        r = rng.random()
        if r < 0.4:
            doc["v"] = rng.choice([0, 2, True, -1, U64, 10**4400, "1"])
        elif r < 0.6:
            doc["sig"] = rng.choice([b"", doc["sig"][:63], doc["sig"] + b"\x00", bytes(64)])
        elif r < 0.8:
            doc["extra"] = 0
        else:
            del doc[rng.choice(["v", "sig"])]

    def mutate_body(self, body: dict[str, Any], model: BankModel, height: int) -> None:
        """Change one thing, then the caller re-signs."""
        rng = self.rng
        me = address_from_pubkey(body["pub_key"])
        balance = model.balances[me]
        seq = body["sequence"]
        gas = body["gas_limit"]
        field_values: dict[str, list[Any]] = {
            "chain_id": ["", "voxpop-test", CHAIN_ID + " ", "x" * 64, "x" * 65, b"voxpop-fuzz", 0],
            "pub_key": [
                rng.choice(MODEL_KEYS).public_key.raw,
                body["pub_key"][:31],
                body["pub_key"] + b"\x00",
                "",
            ],
            "sequence": [seq + 1, seq - 1 if seq else U64, U64, -1, 1 << 64, True, 10**4400],
            "fee": [
                AuthParams().min_fee(gas) - 1,
                0,
                balance,
                balance + 1,
                U64,
                1 << 64,
                -1,
                "200",
            ],
            "gas_limit": [0, 1, 1000, 3999, 10_000_000, 10_000_001, U64, 1 << 64, None],
            "timeout_height": [height, height - 1, height + 1, U64, 1 << 64, -1],
            "memo": ["m" * 256, "m" * 257, "m" * 1025, "é" * 129, b"memo", None],
            "msgs": [[], None, {}, body["msgs"] * 64, body["msgs"] * 65, body["msgs"] * 257],
        }
        r = rng.random()
        if r < 0.45:
            name = rng.choice(sorted(field_values))
            body[name] = rng.choice(field_values[name])
            if name == "gas_limit" and _is_uint(body[name]) and rng.random() < 0.5:
                body["fee"] = AuthParams().min_fee(body[name])
            return
        if r < 0.5:
            body[rng.choice(["extra", "Fee", "msg"])] = 0
            return
        if r < 0.55:
            del body[rng.choice(sorted(body))]
            return
        # one message's field
        msg = rng.choice(body["msgs"])
        value = msg["value"]
        r = rng.random()
        if r < 0.15:
            msg["type"] = rng.choice(
                ["bank/send", "bank/Send ", "staking/Delegate", "bank/MultiSend", "bank/Send", ""]
            )
        elif r < 0.25:
            value[rng.choice([7, -1, b"to", "extra", True])] = 0  # finding 2a's shape
        elif r < 0.3:
            del value[rng.choice(sorted(value))]
        elif r < 0.35:
            msg[rng.choice(["extra", "value2"])] = 0
        elif "outputs" in value and r < 0.6:
            out = rng.choice(value["outputs"])
            out[rng.randrange(2)] = rng.choice(ADDRESS_LIKE + AMOUNT_LIKE)
            if rng.random() < 0.2:
                value["outputs"] = rng.choice([[], [out, out, out], [[out[0]]], None])
        else:
            name = rng.choice(sorted(value))
            value[name] = rng.choice(ADDRESS_LIKE + AMOUNT_LIKE + [balance - body["fee"]])

    # -- everything else ----------------------------------------------------------------------

    def tampered(self, model: BankModel) -> Input:
        rng = self.rng
        key = rng.choice(MODEL_KEYS)
        good = sign_body(key, encode(self.bank_body(key, model)))
        data = bytearray(good)
        r = rng.random()
        pos = rng.randrange(len(data))
        if r < 0.3:
            data[pos] ^= 1 << rng.randrange(8)
        elif r < 0.5:
            data[pos] = rng.randrange(256)
        elif r < 0.6:
            data.insert(pos, rng.randrange(256))
        elif r < 0.7:
            del data[pos]
        elif r < 0.8:
            del data[pos:]
        elif r < 0.9:
            data += rng.randbytes(rng.randrange(1, 4))
        else:
            end = min(len(data), pos + rng.randrange(1, 16))
            data[pos:pos] = data[pos:end]
        if bytes(data) == good:
            data[0] ^= 0x01
        return Input("tampered", bytes(data), must_reject=True, signer=key.public_key.address)

    def chaos_body(
        self, block_time: int, *, fee_granter: bool = True
    ) -> tuple[PrivateKey, dict[str, Any]]:
        rng = self.rng
        # Half from the declarations (every routed type), half written by hand
        if rng.random() < DECLARED_SHARE:
            msg_type = rng.choice(self.declared.types)
            key = self.declared.signer_key(msg_type)
            msgs = [self.declared.of_type(msg_type, key.public_key.address, block_time)]
        else:
            key = rng.choice(CHAOS_KEYS)
            msgs = chaos_msgs(rng, key, block_time)
        free = msgs[0]["type"] == "grant/Claim" and rng.random() < 0.8
        gas = rng.choice([50_000, 100_000, 200_000]) if not free else rng.choice([50_000, 100_001])
        if msgs[0]["type"] == "wasm/StoreCode" and rng.random() < 0.5:
            gas = 3_000_000  # enough to store the token contract
        seq = self.chaos_sequences.get(key.public_key.address, 0)
        body = body_value(key, seq, msgs, gas_limit=gas, fee=0 if free else None)
        # Someone else's fee allowance pays, if there is one. Not in shaped inputs: the body's
        # schema there is exact, and fee_granter is the one key it may lack
        if fee_granter and not free and rng.random() < 0.1:
            body["fee_granter"] = rng.choice(CHAOS_ADDRS)
        return key, body

    def chaos(self, block_time: int) -> Input:
        key, body = self.chaos_body(block_time)
        data = sign_body(key, encode(body))
        return Input("chaos", data, signer=key.public_key.address, msg_type=body["msgs"][0]["type"])

    def shaped(self, block_time: int) -> Input:
        rng = self.rng
        key, body = self.chaos_body(block_time, fee_granter=False)
        tree = Node.of(body)
        for _ in range(rng.choice([1, 1, 2])):
            self.editor.edit(tree)
        forbidden = tree.is_forbidden()
        data = sign_body(key, tree.to_bytes())
        if rng.random() < 0.1:  # and the envelope
            envelope = Node.of({"v": 1, "sig": data[10:74], "body": 0})
            envelope.children[2] = (envelope.children[2][0], Node("leaf", data=data[79:]))
            self.editor.edit(envelope)
            forbidden = forbidden or envelope.is_forbidden()
            data = envelope.to_bytes()
        return Input("shaped", data, must_reject=forbidden, signer=key.public_key.address)

    def raw(self) -> Input:
        return Input("raw", self.gen.raw_input(), must_reject=True)


ADDRESS_LIKE: list[Any] = [
    bytes(19),
    bytes(21),
    b"",
    bytes(32),
    "vox1qqqsyqcyq5rqwzqfpg9scrgwpugpzysnwfkqdc",
    FEE_COLLECTOR_ADDR,
    sorted(BLOCKED_RECIPIENTS)[0],
    MODEL_ADDRS[0],
    CHAOS_ADDRS[0],
]
AMOUNT_LIKE: list[Any] = [0, -1, 1, U64, 1 << 64, 10**4400, True, None, 1.5, "1", b"\x01", [1]]


# --- the campaign ---------------------------------------------------------------------------------


@dataclass
class Finding:
    kind: str  # uncaught, accepted_invalid, mismatch, slow, timeout, crash
    where: str
    detail: str
    data_hex: str
    size: int

    def key(self) -> str:
        # One slow or hanging input per step is enough to show it; the smallest is kept
        detail = "" if self.kind in ("slow", "timeout") else self.detail[:120]
        return f"{self.kind}|{self.where}|{detail}"


@dataclass
class Stats:
    inputs: int = 0
    uncaught: int = 0
    accepted_invalid: int = 0
    mismatches: int = 0
    blocks: int = 0
    timeouts: int = 0
    crashes: int = 0
    max_us_per_byte: float = 0.0
    max_us_input_size: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    accepted_by_kind: dict[str, int] = field(default_factory=dict)
    verdicts: dict[str, int] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)  # "<kind>:<check_tx code>"
    # "<type>:<code>": chaos txs in blocks by message type and result code
    chaos_types: dict[str, int] = field(default_factory=dict)
    findings: dict[str, Finding] = field(default_factory=dict)

    def add_finding(self, f: Finding) -> None:
        old = self.findings.get(f.key())
        if old is None or f.size < old.size:  # keep the smallest reproducer of each
            self.findings[f.key()] = f

    def merge(self, other: Stats) -> None:
        for name in ("inputs", "uncaught", "accepted_invalid", "mismatches", "blocks"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.timeouts += other.timeouts
        self.crashes += other.crashes
        if other.max_us_per_byte > self.max_us_per_byte:
            self.max_us_per_byte = other.max_us_per_byte
            self.max_us_input_size = other.max_us_input_size
        for mine, theirs in (
            (self.by_kind, other.by_kind),
            (self.accepted_by_kind, other.accepted_by_kind),
            (self.verdicts, other.verdicts),
            (self.codes, other.codes),
            (self.chaos_types, other.chaos_types),
        ):
            for k, n in theirs.items():
                mine[k] = mine.get(k, 0) + n
        for f in other.findings.values():
            self.add_finding(f)

    def to_json(self) -> str:
        d = {k: v for k, v in self.__dict__.items() if k != "findings"}
        d["findings"] = [f.__dict__ for f in self.findings.values()]
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str) -> Stats:
        d = json.loads(text)
        findings = d.pop("findings")
        s = cls(**d)
        for f in findings:
            s.add_finding(Finding(**f))
        return s


def _hex(data: bytes, limit: int = 1 << 16) -> str:
    return data[:limit].hex() + ("" if len(data) <= limit else f"...(+{len(data) - limit} bytes)")


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    loc = f"{Path(last.filename).name}:{last.lineno}" if last else "?"
    return f"{type(exc).__name__} at {loc}"


class Progress:
    """Where a worker is: the input being decoded, and since when (read by the watchdog)."""

    def begin(self, data: bytes) -> None:
        return None

    def block(self) -> None:
        return None

    def end(self) -> None:
        return None


SLOT_HEADER = struct.Struct("<QqI")  # inputs begun, monotonic start (ns, 0 = idle), size


class SharedProgress(Progress):
    """Progress in a shared-memory buffer: header, then the bytes of the current input."""

    def __init__(self, buf: Any) -> None:
        self.buf = buf
        self.count = 0

    def begin(self, data: bytes) -> None:
        self.count += 1
        n = min(len(data), len(self.buf) - SLOT_HEADER.size)
        self.buf[SLOT_HEADER.size : SLOT_HEADER.size + n] = data[:n]
        SLOT_HEADER.pack_into(self.buf, 0, self.count, time.monotonic_ns(), len(data))

    def block(self) -> None:
        self.count += 1
        SLOT_HEADER.pack_into(self.buf, 0, self.count, time.monotonic_ns(), 0)

    def end(self) -> None:
        SLOT_HEADER.pack_into(self.buf, 0, self.count, 0, 0)


@dataclass
class WorkerConfig:
    seed: int
    inputs: int
    batch: int = 100
    deadline: float = 0.0  # time.monotonic() to stop at; 0 = none
    reset_every: int = 300  # blocks per fresh store
    deep_bombs: bool = True
    mix: tuple[tuple[str, float], ...] = (
        ("raw", 0.3),
        ("shaped", 0.2),
        ("tampered", 0.12),
        ("judged", 0.3),
        ("chaos", 0.08),
    )


class FuzzChain:
    """A real app on a fresh LMDB store, its genesis, and the model of the tracked accounts."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="voxpop-fuzz-"))
        self.app = VoxApp(MerkleStore(self.dir / "state", aux_dbs=AUX_DBS, keep_versions=4))
        balances = [(a, FUNDS) for a in MODEL_ADDRS + CHAOS_ADDRS]
        state = default_app_state(
            balances,
            registrars=[(REGISTRAR.public_key.raw, "fuzz")],
            validators=[(CHAOS_ADDRS[i], CONSENSUS[i].public_key.raw, SELF_BOND) for i in (0, 1)],
        )
        res = self.app.init_chain(
            RequestInitChain(GENESIS_TIME, CHAIN_ID, json.dumps(state).encode())
        )
        self.valset = {u.pub_key_ed25519: u.power for u in res.validators}
        self.time = GENESIS_TIME
        self.model = BankModel(
            {a: FUNDS - (SELF_BOND if a in CHAOS_ADDRS[:2] else 0) for a in MODEL_ADDRS},
            dict.fromkeys(MODEL_ADDRS, 0),
        )
        self.params = AuthParams()
        self.finalize([])

    def close(self) -> None:
        self.app.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def votes(self) -> CommitInfo:
        return CommitInfo(
            votes=tuple(
                VoteInfo(Validator(consensus_address(pk), p), BlockIDFlag.COMMIT)
                for pk, p in sorted(self.valset.items())
            )
        )

    def finalize(self, txs: list[bytes]) -> list[ExecTxResult]:
        self.time += 5
        res = self.app.finalize_block(
            RequestFinalizeBlock(
                tuple(txs), self.app.last_height + 1, self.time, decided_last_commit=self.votes()
            )
        )
        self.app.commit()
        for u in res.validator_updates:  # simplification: take effect at once
            if u.power:
                self.valset[u.pub_key_ed25519] = u.power
            else:
                self.valset.pop(u.pub_key_ed25519, None)
        return list(res.tx_results)

    def account(self, address: bytes) -> tuple[int, int]:
        """(balance, sequence) in committed state."""
        bal = self.app.query(RequestQuery("/bank/balance", address)).value
        acc = self.app.query(RequestQuery("/auth/account", address)).value
        return (decode_uint(bal) if bal else 0), (int(decode_state(acc)[0]) if acc else 0)


def _charged(result: ExecTxResult) -> bool:
    """Whether a block's tx result shows the ante passed (fee and sequence taken)."""
    return any(e.type == "tx" for e in result.events)


class Campaign:
    """One worker's loop: generate a batch, run it through every step, check the oracle."""

    def __init__(self, cfg: WorkerConfig, progress: Progress | None = None) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.gen = CborGen(self.rng, deep_bombs=cfg.deep_bombs)
        self.factory = TxFactory(self.rng, self.gen)
        self.progress = progress or Progress()
        self.stats = Stats()
        self.chain = FuzzChain()
        self.blocks_on_store = 0
        self.culprit_searches = 0

    def close(self) -> None:
        self.chain.close()

    # -- bookkeeping ---------------------------------------------------------------------------

    def finding(self, kind: str, where: str, detail: str, data: bytes) -> None:
        if kind == "uncaught":
            self.stats.uncaught += 1
        elif kind == "accepted_invalid":
            self.stats.accepted_invalid += 1
        elif kind == "mismatch":
            self.stats.mismatches += 1
        self.stats.add_finding(Finding(kind, where, detail, _hex(data), len(data)))

    def count(self, table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1

    def reset_chain(self) -> None:
        self.chain.close()
        self.chain = FuzzChain()
        self.factory.committed.clear()
        self.factory.chaos_sequences.clear()
        self.factory.declared.clear()
        self.blocks_on_store = 0

    # -- the loop ------------------------------------------------------------------------------

    def run(self, report: Callable[[Stats], None] | None = None) -> Stats:
        cfg = self.cfg
        while self.stats.inputs < cfg.inputs:
            if cfg.deadline and time.monotonic() > cfg.deadline:
                break
            before = Stats()
            before.merge(self.stats)
            n = min(cfg.batch, cfg.inputs - self.stats.inputs)
            self.run_batch(n)
            if report is not None:
                report(_delta(self.stats, before))
        return self.stats

    def make_input(self, kind: str, check_model: BankModel, height: int) -> Input:
        factory = self.factory
        if kind == "raw":
            return factory.raw()
        if kind == "shaped":
            return factory.shaped(self.chain.time)
        if kind == "tampered":
            return factory.tampered(check_model)
        if kind == "chaos":
            return factory.chaos(self.chain.time)
        for _ in range(10):
            inp = factory.judged(check_model, height)
            # Gas in the model's blind spot (see judge): not sent, made again
            if judge_input(inp, check_model, height, self.chain.params).outcome != "unjudged":
                return inp
        return factory.chaos(self.chain.time)

    def run_batch(self, n: int) -> None:
        chain = self.chain
        app = chain.app
        height = app.last_height + 1
        root = app.last_app_hash
        # Untracked accounts: the next sequence is read from the chain, then follows check_tx
        for address in CHAOS_ADDRS:
            self.factory.chaos_sequences[address] = chain.account(address)[1]
        # 1. each input as it arrives: decode (timed), pre-verification (the node's second core)
        # for half of them, check_tx against the mempool's state and judged txs against the model's
        check_model = chain.model.copy()
        kinds, weights = zip(*self.cfg.mix, strict=True)
        inputs = []
        for kind in self.rng.choices(kinds, weights, k=n):
            inp = self.make_input(kind, check_model, height)
            inputs.append(inp)
            self.stats.inputs += 1
            self.count(self.stats.by_kind, inp.kind)
            self.timed_decode(inp)
            if self.rng.random() < 0.5:
                try:
                    app.preverify([inp.data])
                except Exception as exc:
                    self.finding("uncaught", "preverify", _where(exc), inp.data)
            self.check_one(inp, check_model, height)
        # Verify check_tx wrote nothing to committed state
        if app.last_app_hash != root:
            self.finding("accepted_invalid", "check_tx", "committed state changed", b"")
        # 4. proposals: an honest one must be accepted; a byzantine one may be, never crash
        raws = tuple(i.data for i in inputs)
        chosen = self.propose(raws, height)
        if chosen is None:
            self.reset_chain()
            return
        byzantine = self.process(raws, height, "process_proposal(batch)")
        if byzantine is None:
            self.reset_chain()
            return
        # A decided block may hold anything a faulty majority accepted: sometimes finalize it all
        block = list(raws) if byzantine or self.rng.random() < 0.2 else chosen
        # 5. finalize and commit, then judge every result and the state
        by_raw: dict[bytes, Input] = {}
        for inp in inputs:
            by_raw.setdefault(inp.data, inp)
        self.progress.block()
        try:
            results = chain.finalize(block)
        except Exception as exc:
            self.progress.end()
            self.finding(
                "uncaught", "finalize_block/commit", _where(exc), self.block_culprit(block)
            )
            self.reset_chain()
            return
        self.progress.end()
        self.stats.blocks += 1
        self.blocks_on_store += 1
        self.judge_block(block, results, by_raw, height)
        try:
            breaches = check_invariants(app)
        except Exception as exc:
            breaches = [_where(exc)]
        for b in breaches:
            self.finding("accepted_invalid", "invariant", b, _smallest(block))
        if breaches or self.blocks_on_store >= self.cfg.reset_every:
            self.reset_chain()

    def culprit(self, step: Callable[[bytes], object], txs: Sequence[bytes]) -> bytes:
        """The smallest tx on which `step` alone raises (or the smallest of all, if none does)."""
        raising = []
        for tx in txs:
            try:
                step(tx)
            except Exception:
                raising.append(tx)
        return _smallest(raising or list(txs))

    def block_culprit(self, block: list[bytes]) -> bytes:
        """The smallest tx whose block of one raises in finalize_block or commit, on a fresh chain
        (searched for the first 20 failures only: each search replays the block tx by tx)."""
        self.culprit_searches += 1
        if self.culprit_searches > 20:
            return _smallest(block)
        raising = []
        chain = FuzzChain()
        try:
            for tx in block:
                try:
                    chain.finalize([tx])
                except Exception:
                    raising.append(tx)
                    chain.close()
                    chain = FuzzChain()
        finally:
            chain.close()
        return _smallest(raising or block)

    def timed_decode(self, inp: Input) -> None:
        data = inp.data
        best = 0.0
        for attempt in range(MEASUREMENTS):
            self.progress.begin(data)
            # The thread's CPU time, not the wall's: a worker descheduled on a busy machine (the
            # campaign runs at low priority beside other work) is not a slow decode
            t0 = time.thread_time_ns()
            try:
                decode_tx(data)
            except ChainError:
                pass
            except Exception as exc:
                self.progress.end()
                self.finding("uncaught", "decode_tx", _where(exc), data)
                return
            elapsed = time.thread_time_ns() - t0
            self.progress.end()
            if len(data) < MIN_TIMED_BYTES:
                return
            us_per_byte = elapsed / 1000 / len(data)
            best = us_per_byte if attempt == 0 else min(best, us_per_byte)
            # Re-measure an outlier (the garbage collector ran), unless it took over a second:
            # then it is real, and measuring again would only cost time
            if best <= 1.0 or elapsed > 1_000_000_000:
                break
        if best > self.stats.max_us_per_byte:
            self.stats.max_us_per_byte = best
            self.stats.max_us_input_size = len(data)
        if best > 5.0:
            self.finding("slow", "decode_tx", f"{best:.1f} us/byte", data)

    def check_one(self, inp: Input, check_model: BankModel, height: int) -> None:
        app = self.chain.app
        mempool = getattr(app, "_check", None)
        before = dict(mempool.writes) if mempool is not None else None
        try:
            res = app.check_tx(RequestCheckTx(inp.data))
        except Exception as exc:
            self.finding("uncaught", "check_tx", _where(exc), inp.data)
            return
        if res.code == 1:
            self.finding("uncaught", "check_tx", f"code 1: {res.log[:100]}", inp.data)
        self.count(self.stats.codes, f"{inp.kind}:{res.code}")
        if res.code == 0:
            self.count(self.stats.accepted_by_kind, inp.kind)
            if inp.kind in ("chaos", "shaped"):
                sequences = self.factory.chaos_sequences
                sequences[inp.signer] = sequences.get(inp.signer, 0) + 1
        elif before is not None and mempool is not None and mempool.writes != before:
            self.finding(
                "accepted_invalid", "check_tx", "a rejected tx changed the mempool", inp.data
            )
        if inp.must_reject and res.code == 0:
            self.finding("accepted_invalid", "check_tx", f"{inp.kind} accepted", inp.data)
        if inp.kind == "judged":
            v = judge_input(inp, check_model, height, self.chain.params)
            self.count(self.stats.verdicts, f"check:{v.outcome}:{v.reason}")
            if v.outcome == "unjudged":
                return
            if res.code == 0 and v.outcome != "ok":
                where = f"model: {v.outcome} {v.reason}"
                self.finding("accepted_invalid", "check_tx", where, inp.data)
            elif res.code != 0 and v.outcome == "ok":
                self.finding(
                    "mismatch", "check_tx", f"valid tx rejected: code {res.code}", inp.data
                )
            elif res.code == 0:
                check_model.apply(v, in_block=False)

    def propose(self, raws: tuple[bytes, ...], height: int) -> list[bytes] | None:
        app = self.chain.app
        self.progress.block()
        try:
            prepared = app.prepare_proposal(
                RequestPrepareProposal(0, raws, height, self.chain.time + 5)
            )
        except Exception as exc:
            self.progress.end()
            culprit = self.culprit(
                lambda tx: app.prepare_proposal(RequestPrepareProposal(0, (tx,), height, 0)), raws
            )
            self.finding("uncaught", "prepare_proposal", _where(exc), culprit)
            return None
        self.progress.end()
        chosen = list(prepared.txs)
        status = self.process(prepared.txs, height, "process_proposal(prepared)")
        if status is None:
            return None
        # Verify an honest proposal is accepted (else the chain stalls)
        if not status:
            self.finding("mismatch", "process_proposal", "prepared proposal rejected", b"")
        return chosen

    def process(self, txs: tuple[bytes, ...], height: int, where: str) -> bool | None:
        self.progress.block()
        try:
            res = self.chain.app.process_proposal(
                RequestProcessProposal(txs, height, self.chain.time + 5)
            )
        except Exception as exc:
            self.progress.end()
            app = self.chain.app
            culprit = self.culprit(
                lambda tx: app.process_proposal(RequestProcessProposal((tx,), height, 0)), txs
            )
            self.finding("uncaught", where, _where(exc), culprit)
            return None
        self.progress.end()
        return res.status == ProposalStatus.ACCEPT

    def judge_block(
        self,
        block: list[bytes],
        results: list[ExecTxResult],
        by_raw: dict[bytes, Input],
        height: int,
    ) -> None:
        chain = self.chain
        model = chain.model
        unjudged = False
        for raw, res in zip(block, results, strict=True):
            inp = by_raw[raw]
            if res.code == 1:
                self.finding("uncaught", "finalize_block", f"code 1: {res.log[:100]}", raw)
            if inp.must_reject and (res.code == 0 or _charged(res)):
                self.finding("accepted_invalid", "finalize_block", f"{inp.kind} accepted", raw)
            if inp.kind == "chaos":
                self.count(self.stats.chaos_types, f"{inp.msg_type}:{res.code}")
                if res.code == 0:
                    self.factory.declared.harvest(res.events)
            if inp.kind != "judged":
                continue
            v = judge_input(inp, model, height, chain.params)
            if unjudged:
                # The model no longer follows this block (a tx it could not judge may have taken
                # a sequence or funds a later one counts on): not judged either
                v = Verdict("unjudged", "after an unjudged tx")
            self.count(self.stats.verdicts, f"block:{v.outcome}:{v.reason}")
            if v.outcome == "unjudged":
                # The model cannot follow: take the app's state after this block as the model's
                unjudged = True
                continue
            if v.outcome == "ok" and res.code != 0:
                self.finding("mismatch", "finalize_block", f"valid tx failed: code {res.code}", raw)
            elif v.outcome != "ok" and res.code == 0:
                self.finding("accepted_invalid", "finalize_block", f"model: {v.reason}", raw)
            elif v.outcome == "reject" and _charged(res):
                self.finding("accepted_invalid", "finalize_block", f"charged: {v.reason}", raw)
            elif v.outcome == "fail" and not _charged(res):
                self.finding("mismatch", "finalize_block", f"not charged: {v.reason}", raw)
            model.apply(v, in_block=True)
            if res.code == 0:
                self.factory.committed.append(inp)
                del self.factory.committed[:-1000]
        # Verify every tracked account is as the model says
        for address in MODEL_ADDRS:
            actual = chain.account(address)
            expected = (model.balances[address], model.sequences[address])
            if actual != expected and not unjudged:
                judged = [r for r in block if by_raw[r].kind == "judged"]
                self.finding(
                    "accepted_invalid",
                    "state",
                    f"account (balance, sequence) {actual} != model {expected}",
                    _smallest(judged),
                )
            model.balances[address], model.sequences[address] = actual


def judge_input(inp: Input, model: BankModel, height: int, params: AuthParams) -> Verdict:
    return judge(inp.doc, len(inp.data), inp.sig_ok, model, height, params)


def _smallest(txs: list[bytes]) -> bytes:
    return min(txs, key=len) if txs else b""


def _delta(now: Stats, before: Stats) -> Stats:
    d = Stats()
    for name in ("inputs", "uncaught", "accepted_invalid", "mismatches", "blocks"):
        setattr(d, name, getattr(now, name) - getattr(before, name))
    d.timeouts = now.timeouts - before.timeouts
    d.crashes = now.crashes - before.crashes
    d.max_us_per_byte, d.max_us_input_size = now.max_us_per_byte, now.max_us_input_size
    for mine, a, b in (
        (d.by_kind, now.by_kind, before.by_kind),
        (d.accepted_by_kind, now.accepted_by_kind, before.accepted_by_kind),
        (d.verdicts, now.verdicts, before.verdicts),
        (d.codes, now.codes, before.codes),
        (d.chaos_types, now.chaos_types, before.chaos_types),
    ):
        for k, n in a.items():
            if n - b.get(k, 0):
                mine[k] = n - b.get(k, 0)
    for k, f in now.findings.items():
        if before.findings.get(k) is not f:
            d.findings[k] = f
    return d


def run_in_process(inputs: int, seed: int, *, batch: int = 100, deep_bombs: bool = True) -> Stats:
    """The campaign in this process (no watchdog): for CI and debugging."""
    campaign = Campaign(WorkerConfig(seed=seed, inputs=inputs, batch=batch, deep_bombs=deep_bombs))
    try:
        return campaign.run()
    finally:
        campaign.close()


def chaos_coverage(stats: Stats) -> tuple[list[str], list[str]]:
    """The routed message types no chaos tx in a block had, and those none succeeded with."""
    sent = {k.rpartition(":")[0] for k in stats.chaos_types}
    ok = {k.rpartition(":")[0] for k in stats.chaos_types if k.endswith(":0")}
    return sorted(set(ROUTES) - sent), sorted(set(ROUTES) - ok)


def summary_line(stats: Stats) -> str:
    return (
        f"inputs={stats.inputs} uncaught={stats.uncaught} "
        f"accepted_invalid={stats.accepted_invalid} max_us_per_byte={stats.max_us_per_byte:.2f}"
    )
