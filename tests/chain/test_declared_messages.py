"""Every message is a declaration: its parsing, encoding, JSON and README table come from it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nacl.bindings
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.signing import SigningKey
from nucypher_core.umbral import SecretKey

from voxpop.chain import errors
from voxpop.chain.encoding import decode_canonical, encode
from voxpop.chain.fields import (
    AddressKind,
    BoolKind,
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
from voxpop.chain.module import Msg, message_table, msg_fields, msg_from_json
from voxpop.chain.modules.gov.actions import ACTIONS, ActionsKind, ParamsKind
from voxpop.chain.modules.services.messages import (
    Ed25519KeyKind,
    EndpointKind,
    LanguageKind,
    ServiceKindKind,
)
from voxpop.chain.modules.wasm.messages import ContractMsgKind, OptionalAddressKind
from voxpop.chain.registry import default_modules

MODULES = Path(__file__).resolve().parents[2] / "src" / "voxpop" / "chain" / "modules"
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ROUTES = {t: r for m in default_modules() for t, r in m.msg_routes().items()}
MESSAGES = sorted((r.msg_cls for r in ROUTES.values()), key=lambda c: c.TYPE)


MSG_TYPES = st.sampled_from(sorted(ROUTES)) | st.from_regex(r"\A[a-z_]{1,10}/[A-Za-z0-9]{1,10}\Z")


def values_of(kind: Kind) -> st.SearchStrategy[Any]:
    """Valid wire values of a field kind."""
    if isinstance(kind, UintKind):
        return st.integers(kind.minimum, kind.maximum)
    if isinstance(kind, AddressKind):
        return st.binary(min_size=20, max_size=20)
    if isinstance(kind, BytesKind):
        if kind.length is not None:
            return st.binary(min_size=kind.length, max_size=kind.length)
        return st.binary(max_size=kind.max_length)
    if isinstance(kind, TextKind):
        return st.text(max_size=kind.max_bytes // 4)
    if isinstance(kind, ListKind):
        return st.lists(
            values_of(kind.item), min_size=kind.min_items, max_size=min(kind.max_items, 5)
        )
    if isinstance(kind, TupleKind):
        return st.tuples(*(values_of(k) for k in kind.items)).map(list)
    if isinstance(kind, X25519KeyKind):  # the public key of a random secret
        return st.binary(min_size=32, max_size=32).map(nacl.bindings.crypto_scalarmult_base)
    if isinstance(kind, Secp256k1KeyKind):  # the public key of a random scalar
        return st.integers(1, SECP256K1_ORDER - 1).map(
            lambda n: bytes(
                SecretKey.from_be_bytes(n.to_bytes(32, "big")).public_key().to_compressed_bytes()
            )
        )
    if isinstance(kind, MsgTypeKind):
        return MSG_TYPES
    if isinstance(kind, ParamsKind):  # a proposal's parameter changes: any small plain map
        return st.dictionaries(st.text(max_size=8), st.integers(0, 2**32), min_size=1, max_size=3)
    if isinstance(kind, ActionsKind):  # a proposal's actions, each a declared action
        action = st.sampled_from(sorted(ACTIONS)).flatmap(
            lambda t: wire_values(ACTIONS[t]).map(lambda v: {"type": t, "value": v})
        )
        return st.lists(action, max_size=3)
    if isinstance(kind, MsgsKind):  # inner messages: any type name, any plain CBOR map
        plain = st.integers(0, 2**64 - 1) | st.binary(max_size=8) | st.text(max_size=8)
        inner = st.fixed_dictionaries(
            {"type": MSG_TYPES, "value": st.dictionaries(st.text(max_size=8), plain, max_size=3)}
        )
        return st.lists(inner, min_size=1, max_size=min(kind.max_items, 4))
    if isinstance(kind, (ServiceKindKind, LanguageKind)):
        return st.from_regex(r"\A[a-z0-9-]{1,16}\Z")
    if isinstance(kind, EndpointKind):
        return st.from_regex(
            r"\Ahttps?://[a-z0-9]{1,20}(\.[a-z]{2,5})?(:[0-9]{1,4})?(/[a-z0-9/]*)?\Z"
        )
    if isinstance(kind, Ed25519KeyKind):  # the public key of a random seed
        return st.binary(min_size=32, max_size=32).map(lambda s: SigningKey(s).verify_key.encode())
    if isinstance(kind, ContractMsgKind):  # compact JSON, as a contract's message is sent
        return st.sampled_from([b"{}", b'{"a":1}', b'"x"', b"[1,2]", b'{"to":"vox1","n":"2"}'])
    if isinstance(kind, OptionalAddressKind):
        return st.just(b"") | st.binary(min_size=20, max_size=20)
    if isinstance(kind, BoolKind):
        return st.booleans()
    raise AssertionError(f"no strategy for {kind!r}")


def wire_values(cls: type[Msg]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({f.key: values_of(f.kind) for f in msg_fields(cls)})


@pytest.mark.parametrize("cls", MESSAGES, ids=lambda c: c.TYPE)
@given(data=st.data())
def test_round_trip(cls: type[Msg], data: st.DataObject) -> None:
    """decode ∘ encode = identity, and the canonical bytes are stable."""
    value = data.draw(wire_values(cls))
    try:
        msg = cls.from_value(value)
    except errors.ChainError:  # a check across fields (e.g. commission within its maximum)
        return
    raw = encode(msg.to_value())
    assert msg.to_value() == value
    again = cls.from_value(decode_canonical(raw))
    assert again == msg and encode(again.to_value()) == raw
    assert msg.signers() == (getattr(msg, cls.SIGNER),)
    assert msg.to_json()["type"] == cls.TYPE


@pytest.mark.parametrize("cls", MESSAGES, ids=lambda c: c.TYPE)
@given(data=st.data())
def test_invalid_field_is_a_typed_error(cls: type[Msg], data: st.DataObject) -> None:
    """Each field replaced by a value of the wrong type, or dropped, or one field added."""
    value = data.draw(wire_values(cls))
    key = data.draw(st.sampled_from([f.key for f in msg_fields(cls)]))
    wrong = data.draw(st.sampled_from([None, True, -1, 1.5, "x", b"", [], {}, [[]], 1 << 64]))
    for bad in (
        {**value, key: wrong},
        {k: v for k, v in value.items() if k != key},
        {**value, "extra": 1},
    ):
        try:
            cls.from_value(bad)
        except errors.ChainError as exc:
            assert exc.code != errors.ChainError.code
        else:  # the wrong value happened to be valid for this field
            assert key in bad and cls.from_value(bad) is not None


@pytest.mark.parametrize(
    "module", [m for m in default_modules() if m.msg_routes()], ids=lambda m: m.name
)
def test_readme_message_table_matches_declarations(module: Any) -> None:
    readme = (MODULES / module.name / "README.md").read_text()
    expected = message_table([r.msg_cls for r in module.msg_routes().values()])
    found = re.search(r"## Messages\n(\|.*\|\n)+", readme)
    assert found is not None, f"{module.name}/README.md has no message table"
    assert found.group(0).strip() == f"## Messages\n{expected}", (
        f"{module.name}/README.md: replace its table with\n{expected}"
    )


@pytest.mark.parametrize(
    "cls",
    [c for c in MESSAGES if not any(isinstance(f.kind, MsgsKind) for f in msg_fields(c))],
    ids=lambda c: c.TYPE,
)
@given(data=st.data())
def test_json_round_trip(cls: type[Msg], data: st.DataObject) -> None:
    """Genesis files hold messages in their JSON shape: msg_from_json ∘ to_json = identity."""
    try:
        msg = cls.from_value(data.draw(wire_values(cls)))
    except errors.ChainError:
        return
    assert msg_from_json(cls, msg.to_json()["value"], "here") == msg


def test_invalid_json_is_a_genesis_error() -> None:
    from voxpop.chain.modules.bank.messages import MsgSend

    good = {"from": "vox1" + "q" * 38, "to": "x", "amount": 1}
    with pytest.raises(errors.InvalidGenesisError, match="here"):
        msg_from_json(MsgSend, good, "here")
    with pytest.raises(errors.InvalidGenesisError, match="exactly"):
        msg_from_json(MsgSend, {"from": "x"}, "here")
