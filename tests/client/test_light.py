"""The light client's rules, on blocks recorded from a real 4-validator CometBFT testnet (the
hashes and signatures recomputed here must match CometBFT's) and on chains signed by keys the
test holds (the forgeries a lying node could serve). The flows are driven against in-process
nodes that serve those blocks, honestly or not; tests/consensus/test_light_client.py runs the
same client against real CometBFT processes."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from voxpop.client import _core as core
from voxpop.client.comet import (
    BLOCK_ID_FLAG_ABSENT,
    BlockID,
    SignedHeader,
    Validator,
    ValidatorSet,
    parse_rfc3339,
    parse_signed_header,
    parse_validator_set,
)
from voxpop.client.comet_testing import (
    ChainMaker,
    sign_commit,
    signed_header_json,
    validator_set,
    validators_json,
)
from voxpop.client.errors import ConflictingHeadersError, LightClientError, ProofVerificationError
from voxpop.client.light import LightClient, TrustOptions
from voxpop.client.light_rules import LightBlock, verify, verify_commit_light

T = TypeVar("T")
RECORDED = json.loads((Path(__file__).parent / "data" / "cometbft_light_blocks.json").read_text())
START_NS = 1_800_000_000 * 10**9
HOUR = 3600


def recorded(height: int) -> LightBlock:
    d = RECORDED["blocks"][str(height)]
    return LightBlock(parse_signed_header(d["signed_header"]), parse_validator_set(d["validators"]))


def just_after(block: LightBlock) -> int:
    return block.signed_header.header.time.unix_ns + 60 * 10**9


def with_header(block: LightBlock, **changes: Any) -> LightBlock:
    sh = block.signed_header
    return LightBlock(
        SignedHeader(dataclasses.replace(sh.header, **changes), sh.commit), block.validators
    )


def with_commit(block: LightBlock, **changes: Any) -> LightBlock:
    sh = block.signed_header
    return LightBlock(
        SignedHeader(sh.header, dataclasses.replace(sh.commit, **changes)), block.validators
    )


def code_of(fn: Callable[[], object]) -> str:
    with pytest.raises(LightClientError) as info:
        fn()
    return info.value.code


# --- CometBFT's own bytes -----------------------------------------------------------------------


def test_header_and_validator_hashes_match_cometbft() -> None:
    for h in range(1, 9):
        block = recorded(h)
        sh = block.signed_header
        assert sh.header.hash() == sh.commit.block_id.hash, h
        assert block.validators.hash() == sh.header.validators_hash, h


def test_recorded_commits_verify_sequentially_and_by_skipping() -> None:
    blocks = [recorded(h) for h in range(1, 9)]
    now = just_after(blocks[-1])
    verify_commit_light(
        RECORDED["chain_id"], blocks[0].validators, 1, blocks[0].signed_header.commit
    )
    for trusted, untrusted in itertools.pairwise(blocks):
        verify(trusted, untrusted, now_ns=now)
    verify(blocks[0], blocks[-1], now_ns=now)


def test_rfc3339_keeps_nanoseconds() -> None:
    t = parse_rfc3339("2026-11-29T19:30:10.307225502Z")
    assert (t.seconds % 60, t.nanos) == (10, 307225502)
    assert parse_rfc3339("1970-01-01T00:00:01.5Z").unix_ns == 1_500_000_000
    with pytest.raises(ValueError):
        parse_rfc3339("2026-11-29T19:30:10+01:00")


# --- forged or broken commits, each refused with the rule it breaks ---------------------------


def test_invalid_header_changed_after_signing() -> None:
    b1, b2 = recorded(1), recorded(2)
    forged = with_header(b2, app_hash=bytes(32))
    assert code_of(lambda: verify(b1, forged, now_ns=just_after(b2))) == "block_id_mismatch"


def test_invalid_signature_bytes() -> None:
    b1, b2 = recorded(1), recorded(2)
    sigs = list(b2.signed_header.commit.signatures)
    sigs[0] = dataclasses.replace(sigs[0], signature=bytes(64))
    forged = with_commit(b2, signatures=tuple(sigs))
    assert code_of(lambda: verify(b1, forged, now_ns=just_after(b2))) == "invalid_signature"


def test_invalid_too_little_power_signed() -> None:
    b1, b2 = recorded(1), recorded(2)
    sigs = [
        dataclasses.replace(s, block_id_flag=BLOCK_ID_FLAG_ABSENT) if i < 2 else s
        for i, s in enumerate(b2.signed_header.commit.signatures)
    ]
    forged = with_commit(b2, signatures=tuple(sigs))
    assert code_of(lambda: verify(b1, forged, now_ns=just_after(b2))) == "insufficient_voting_power"


def test_invalid_validator_set_not_the_headers() -> None:
    b1, b2 = recorded(1), recorded(2)
    vals = b2.validators.validators
    more_power = ValidatorSet((Validator(vals[0].pub_key, 1000), *vals[1:]))
    forged = LightBlock(b2.signed_header, more_power)
    assert code_of(lambda: verify(b1, forged, now_ns=just_after(b2))) == "validators_hash_mismatch"


def test_invalid_expired_trusting_period_and_future_header() -> None:
    b1, b2 = recorded(1), recorded(2)
    t1 = b1.signed_header.header.time.unix_ns
    expired = t1 + 2 * HOUR * 10**9
    assert (
        code_of(lambda: verify(b1, b2, now_ns=expired, trusting_period_s=HOUR)) == "header_expired"
    )
    assert code_of(lambda: verify(b1, b2, now_ns=t1 - 60 * 10**9)) == "header_from_future"


def test_invalid_wrong_chain_id_even_when_properly_signed() -> None:
    chain = ChainMaker.create("voxpop-a", 4, START_NS)
    b1 = chain.next_block()
    other = ChainMaker.create("voxpop-b", 4, START_NS)
    other.keys, other.vals = chain.keys, chain.vals  # the same validators sign another chain
    other.blocks = dict(chain.blocks)
    b2 = other.next_block()
    assert code_of(lambda: verify(b1, b2, now_ns=START_NS + 10 * 10**9)) == "wrong_chain_id"
    # and votes signed for another chain id do not count for this one
    header = b2.signed_header.header
    theirs = sign_commit(
        dataclasses.replace(header, chain_id="voxpop-a"),
        chain.vals,
        chain.keys,
        chain_id="voxpop-b",
    )
    forged = LightBlock(
        SignedHeader(dataclasses.replace(header, chain_id="voxpop-a"), theirs), chain.vals
    )
    assert code_of(lambda: verify(b1, forged, now_ns=START_NS + 10 * 10**9)) == "invalid_signature"


def test_invalid_signatures_over_another_block() -> None:
    chain = ChainMaker.create("voxpop-a", 4, START_NS)
    b1, b2 = chain.next_block(), chain.next_block()
    header = b2.signed_header.header
    other = BlockID(bytes(32), 1, bytes(32))
    commit = sign_commit(header, chain.vals, chain.keys, block_id=other)
    # the commit names this header but its votes sign another block id
    relabeled = dataclasses.replace(commit, block_id=b2.signed_header.commit.block_id)
    forged = LightBlock(SignedHeader(header, relabeled), b2.validators)
    assert code_of(lambda: verify(b1, forged, now_ns=START_NS + 10 * 10**9)) == "invalid_signature"
    # and a commit for another block id is not this header's
    moved = LightBlock(SignedHeader(header, commit), b2.validators)
    assert code_of(lambda: verify(b1, moved, now_ns=START_NS + 10 * 10**9)) == "block_id_mismatch"


# --- the client's flows against in-process nodes --------------------------------------------


class Node:
    """Serves light blocks as the node API's /v1/light routes do (what, is up to the test)."""

    def __init__(self, blocks: dict[int, LightBlock]) -> None:
        self.blocks = blocks
        self.requests = 0

    def answer(self, req: core.HttpRequest) -> core.HttpResponse:
        self.requests += 1
        kind, which = req.path.split("/")[3:5]  # /v1/light/<kind>/<height>
        height = max(self.blocks) if which == "latest" else int(which)
        block = self.blocks.get(height)
        if block is None:
            body = {"error": {"code": "block_not_found", "numeric_code": None, "message": "no"}}
            return core.HttpResponse(404, json.dumps(body).encode())
        if kind == "signed_header":
            data: Any = {"signed_header": signed_header_json(block.signed_header)}
        else:
            data = {"height": height, "validators": validators_json(block.validators)}
        return core.HttpResponse(200, json.dumps(data).encode())


def run(flow: core.Flow[T], primary: Node, witnesses: dict[str, Node] | None = None) -> T:
    answer: Any = None
    clock = 0.0
    try:
        while True:
            effect = flow.send(answer)
            if isinstance(effect, core.Sleep):
                clock += effect.seconds
                answer = clock
            else:
                node = primary if effect.base_url is None else (witnesses or {})[effect.base_url]
                answer = node.answer(effect)
    except StopIteration as done:
        result: T = done.value
        return result


def grow(chain: ChainMaker, n: int) -> dict[int, LightBlock]:
    for _ in range(n):
        chain.next_block()
    return dict(chain.blocks)


def clock_after(chain: ChainMaker) -> Callable[[], float]:
    return lambda: START_NS / 1e9 + len(chain.blocks) + 30


def test_follows_a_validator_set_change_by_bisection() -> None:
    chain = ChainMaker.create("voxpop-a", 4, START_NS)
    pool = chain.keys + ChainMaker.create("voxpop-new", 4, 0).keys
    chain.keys = pool
    grow(chain, 5)
    # the set slides a validator at a time, until none of the first four is left
    for i in range(1, 5):
        chain.next_block(next_vals=validator_set(pool[i : i + 4], [10] * 4))
        grow(chain, 3)
    blocks = grow(chain, 3)
    root = blocks[1]
    light = LightClient(trust_options=TrustOptions(1, root.hash), clock=clock_after(chain))
    top = max(blocks)
    got = run(light.verified_flow(top), Node(blocks))
    assert got.hash == blocks[top].hash
    # no skip from the root could be trusted: headers in between were verified
    assert len(light.store) > 2
    assert {v.pub_key for v in got.validators.validators}.isdisjoint(
        v.pub_key for v in root.validators.validators
    )


def test_verifies_backwards_below_the_root() -> None:
    chain = ChainMaker.create("voxpop-a", 4, START_NS)
    blocks = grow(chain, 12)
    light = LightClient(trust_options=TrustOptions(10, blocks[10].hash), clock=clock_after(chain))
    assert run(light.verified_flow(3), Node(blocks)).hash == blocks[3].hash
    forged = dict(blocks)
    forged[5] = with_header(blocks[5], app_hash=bytes(32))
    light = LightClient(trust_options=TrustOptions(10, blocks[10].hash), clock=clock_after(chain))
    assert code_of(lambda: run(light.verified_flow(3), Node(forged))) == "block_id_mismatch"


def test_invalid_root_not_the_trusted_hash() -> None:
    chain = ChainMaker.create("voxpop-a", 4, START_NS)
    blocks = grow(chain, 3)
    light = LightClient(trust_options=TrustOptions(2, bytes(32)), clock=clock_after(chain))
    assert code_of(lambda: run(light.verified_flow(3), Node(blocks))) == "block_id_mismatch"
    wrong_genesis = validator_set(ChainMaker.create("x", 4, 0).keys, [10] * 4)
    light = LightClient(genesis_validators=wrong_genesis, clock=clock_after(chain))
    assert code_of(lambda: run(light.verified_flow(3), Node(blocks))) == "validators_hash_mismatch"
    light = LightClient(genesis_validators=blocks[1].validators, clock=clock_after(chain))
    assert run(light.verified_flow(3), Node(blocks)).hash == blocks[3].hash


def test_conflicting_witness_is_reported() -> None:
    chain = ChainMaker.create("voxpop-a", 4, START_NS)
    blocks = grow(chain, 4)
    # the same validators sign a second block 5: a fork (or a primary that lies with their keys)
    fork = ChainMaker("voxpop-a", chain.keys, chain.vals, START_NS, dict(blocks))
    fork.next_block(app_hash=b"\x66" * 32)
    chain.next_block()
    light = LightClient(
        trust_options=TrustOptions(1, blocks[1].hash),
        witnesses=["http://w1"],
        clock=clock_after(chain),
    )
    with pytest.raises(ConflictingHeadersError) as info:
        run(light.verified_flow(5), Node(chain.blocks), {"http://w1": Node(fork.blocks)})
    assert info.value.height == 5 and info.value.code == "conflicting_headers"
    assert light.conflicts == [info.value] and 5 not in light.store


def test_witness_serving_an_unsigned_header_is_dropped() -> None:
    chain = ChainMaker.create("voxpop-a", 4, START_NS)
    blocks = grow(chain, 5)
    lying = dict(blocks)
    lying[5] = with_header(blocks[5], app_hash=bytes(32))  # not what the validators signed
    light = LightClient(
        trust_options=TrustOptions(1, blocks[1].hash),
        witnesses=["http://w1", "http://w2"],
        clock=clock_after(chain),
    )
    honest = Node(blocks)
    got = run(light.verified_flow(5), honest, {"http://w1": Node(lying), "http://w2": Node(blocks)})
    assert got.hash == blocks[5].hash
    assert list(light.faulty_witnesses) == ["http://w1"] and light.witnesses == ["http://w2"]
    assert light.faulty_witnesses["http://w1"].code == "block_id_mismatch"
    assert not light.conflicts


def test_store_is_bounded_and_keeps_its_root() -> None:
    chain = ChainMaker.create("voxpop-a", 4, START_NS)
    blocks = grow(chain, 20)
    light = LightClient(
        trust_options=TrustOptions(1, blocks[1].hash), store_size=4, clock=clock_after(chain)
    )
    node = Node(blocks)
    for h in range(2, 21):
        run(light.verified_flow(h), node)
    assert len(light.store) == 4 and 1 in light.store and 20 in light.store


def test_solo_node_has_no_light_headers() -> None:
    status = {
        "chain_id": "voxpop-test",
        "node_mode": "solo",
        "latest_height": 4,
        "latest_block_hash": "ab" * 32,
        "latest_app_hash": "cd" * 32,
        "latest_block_time_unix": 1_700_000_000,
        "mempool_size": 0,
        "validator_pub_keys": ["07" * 32],
        "extra": {},
    }
    flow = core.verified_header_flow(core.Trust(), 3)
    assert next(flow).path == "/v1/status"
    with pytest.raises(ProofVerificationError, match="solo node"):
        flow.send(core.HttpResponse(200, json.dumps(status).encode()))
