"""Listable, provable state: an index with a commitment, and a client that checks a list whole."""

from __future__ import annotations

from hashlib import sha256

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.chain.harness import Chain
from tests.chain.pos import DELEGATOR, DELEGATOR2, OP1, OP2, addr, delegate_msg, undelegate_msg
from voxpop.chain import errors
from voxpop.chain.abci import RequestQuery
from voxpop.chain.context import BlockInfo, Context
from voxpop.chain.encoding import decode_canonical, encode
from voxpop.chain.gas import GasSchedule, InfiniteGasMeter
from voxpop.chain.kv import Branch, CommittedView
from voxpop.chain.listing import ListIndex, merkle_root
from voxpop.client.errors import ProofVerificationError
from voxpop.client.lists import verify_list

PATH = "/staking/delegations_by_delegator"


def rfc6962(leaves: list[bytes]) -> bytes:
    """MTH from RFC 6962 section 2.1, written as the RFC states it (a reference for the test)."""
    if not leaves:
        return sha256(b"").digest()
    if len(leaves) == 1:
        return sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha256(b"\x01" + rfc6962(leaves[:k]) + rfc6962(leaves[k:])).digest()


@given(st.lists(st.binary(max_size=8), max_size=40))
def test_merkle_root_is_rfc6962(leaves: list[bytes]) -> None:
    assert merkle_root(leaves) == rfc6962(leaves)


def ask(chain: Chain, owner: bytes, path: str = PATH) -> tuple[bytes, bytes, bytes]:
    res = chain.app.query(RequestQuery(data=owner, path=path, prove=True))
    assert res.code == 0, res.log
    return res.key, res.value, res.proof


def verify(chain: Chain, owner: bytes, key: bytes, value: bytes, proof: bytes) -> list[bytes]:
    items = verify_list(chain.app.last_app_hash, PATH, owner, key, value, proof)
    return [i.id for i in items]


def test_delegations_listed_and_proven(pos: Chain) -> None:
    pos.block(
        [
            pos.tx(
                DELEGATOR,
                [delegate_msg(DELEGATOR, OP1, 1_000), delegate_msg(DELEGATOR, OP2, 2_000)],
            )
        ]
    )
    pos.block([pos.tx(DELEGATOR2, [delegate_msg(DELEGATOR2, OP2, 3_000)])])
    owner = addr(DELEGATOR)
    assert verify(pos, owner, *ask(pos, owner)) == sorted([addr(OP1), addr(OP2)])
    # Undelegating everything from OP1 takes it off the list, and the list still verifies
    pos.block([pos.tx(DELEGATOR, [undelegate_msg(DELEGATOR, OP1, 1_000)])])
    assert verify(pos, owner, *ask(pos, owner)) == [addr(OP2)]


def test_empty_list_is_proven_empty(pos: Chain) -> None:
    owner = addr(DELEGATOR)
    assert verify(pos, owner, *ask(pos, owner)) == []


def tamper(value: bytes, change: object) -> bytes:
    doc = decode_canonical(value)
    change(doc)  # type: ignore[operator]
    return encode(doc)


@pytest.fixture
def listed(pos: Chain) -> tuple[Chain, bytes, bytes, bytes, bytes]:
    pos.block(
        [
            pos.tx(
                DELEGATOR,
                [delegate_msg(DELEGATOR, OP1, 1_000), delegate_msg(DELEGATOR, OP2, 2_000)],
            )
        ]
    )
    pos.block([pos.tx(DELEGATOR2, [delegate_msg(DELEGATOR2, OP1, 3_000)])])
    owner = addr(DELEGATOR)
    return (pos, owner, *ask(pos, owner))


def test_invalid_list_with_an_item_dropped(
    listed: tuple[Chain, bytes, bytes, bytes, bytes],
) -> None:
    chain, owner, key, value, proof = listed
    with pytest.raises(ProofVerificationError, match="commitment"):
        verify(chain, owner, key, tamper(value, lambda d: d["items"].pop()), proof)


def test_invalid_list_with_an_item_added(listed: tuple[Chain, bytes, bytes, bytes, bytes]) -> None:
    chain, owner, key, value, proof = listed
    # Another delegator's delegation: present in the state, with a valid proof, but not on this list
    other = decode_canonical(ask(chain, addr(DELEGATOR2))[1])["items"][0]
    with pytest.raises(ProofVerificationError):
        verify(chain, owner, key, tamper(value, lambda d: d["items"].append(other)), proof)


def test_invalid_list_with_an_item_swapped(
    listed: tuple[Chain, bytes, bytes, bytes, bytes],
) -> None:
    chain, owner, key, value, proof = listed
    other = decode_canonical(ask(chain, addr(DELEGATOR2))[1])["items"][0]

    def swap(d: dict[str, list[list[bytes]]]) -> None:
        d["items"][0] = [d["items"][0][0], *other[1:]]

    with pytest.raises(ProofVerificationError, match="another key"):
        verify(chain, owner, key, tamper(value, swap), proof)


def test_invalid_list_with_a_value_altered(
    listed: tuple[Chain, bytes, bytes, bytes, bytes],
) -> None:
    chain, owner, key, value, proof = listed

    def alter(d: dict[str, list[list[bytes]]]) -> None:
        d["items"][0][2] = (10**9).to_bytes(16, "big")

    with pytest.raises(ProofVerificationError):
        verify(chain, owner, key, tamper(value, alter), proof)


def test_invalid_list_for_another_owner(listed: tuple[Chain, bytes, bytes, bytes, bytes]) -> None:
    chain, owner, *_ = listed
    with pytest.raises(ProofVerificationError, match="another list"):
        verify(chain, owner, *ask(chain, addr(DELEGATOR2)))


def test_invalid_list_query_data(pos: Chain) -> None:
    res = pos.app.query(RequestQuery(data=b"\x01" * 7, path=PATH, prove=True))
    assert res.code == errors.InvalidQueryError.code
    pos.block([])  # height 2: height 1 is no longer the latest
    old = pos.app.query(RequestQuery(data=addr(DELEGATOR), path=PATH, prove=True, height=1))
    assert old.code == errors.HeightNotAvailableError.code


def test_list_full_is_a_typed_error(pos: Chain) -> None:
    index = ListIndex(b"t/i/", b"t/c/", owner_len=1, id_len=1, max_items=3)
    ctx = Context(
        BlockInfo("c", 1, 0), Branch(pos.app.committed), InfiniteGasMeter(), GasSchedule()
    )
    for i in range(3):
        index.add(ctx, b"o", bytes([i]))
    index.add(ctx, b"o", b"\x01")  # already there: no change
    with pytest.raises(errors.ListFullError):
        index.add(ctx, b"o", b"\x09")
    index.remove(ctx, b"o", b"\x00")
    index.add(ctx, b"o", b"\x09")
    assert index.ids(ctx, b"o") == [b"\x01", b"\x02", b"\x09"]
    assert index.check(ctx.store) is None


# An empty committed state: a branch over it holds only what a test writes
EMPTY = CommittedView(lambda key: None, lambda prefix: iter(()))


@given(
    st.lists(st.binary(min_size=1, max_size=1), max_size=30),
    st.lists(st.binary(min_size=1, max_size=1), max_size=30),
)
def test_add_many_is_adding_one_by_one(before: list[bytes], batch: list[bytes]) -> None:
    """The same index and commitment as `add` item by item (duplicates and items already listed
    included), for one pass over the list instead of one per item."""
    index = ListIndex(b"t/i/", b"t/c/", owner_len=1, id_len=1, max_items=256)
    states = []
    passes = []
    for batched in (False, True):
        ctx = Context(BlockInfo("c", 1, 0), Branch(EMPTY), InfiniteGasMeter(), GasSchedule())
        for item in before:
            index.add(ctx, b"o", item)
        start = ctx.gas.consumed
        if batched:
            index.add_many(ctx, b"o", batch)
        else:
            for item in batch:
                index.add(ctx, b"o", item)
        passes.append(ctx.gas.consumed - start)
        assert index.check(ctx.store) is None
        states.append(sorted(ctx.store.iterate(b"t/")))
    assert states[0] == states[1]
    assert len(states[1]) == len(set(before) | set(batch)) + bool(before or batch)
    assert passes[1] <= passes[0]


def test_add_many_refuses_past_the_limit_and_writes_nothing() -> None:
    index = ListIndex(b"t/i/", b"t/c/", owner_len=1, id_len=1, max_items=3)
    ctx = Context(BlockInfo("c", 1, 0), Branch(EMPTY), InfiniteGasMeter(), GasSchedule())
    index.add_many(ctx, b"o", [b"\x01", b"\x02"])
    with pytest.raises(errors.ListFullError):
        index.add_many(ctx, b"o", [b"\x02", b"\x03", b"\x04"])  # two new: one too many
    assert index.ids(ctx, b"o") == [b"\x01", b"\x02"]
    index.add_many(ctx, b"o", [b"\x02", b"\x03"])  # one new: fits
    assert index.ids(ctx, b"o") == [b"\x01", b"\x02", b"\x03"] and index.check(ctx.store) is None
